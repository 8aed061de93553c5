import PushinatorHTTP
public import PushinatorJSON
public import PushinatorSocketIO
public import Synchronization

/// The pushinator application's state: browsers `auth` on the client namespace (``AuthHandler``), the backend calls
/// the admin API (``AdminRouter``).
public final class PushApp: Sendable {
    /// The registered users.
    public let users = UserRegistry()
    /// Failed `auth` attempts.
    public let throttle = AuthThrottle()
    /// The running configuration (swapped on reload).
    public let settings: Mutex<PushinatorConfiguration>
    /// The Socket.IO server of the client port.
    public let io: SocketIOServer
    /// The namespace browsers join (`/`).
    public let clients: Namespace
    /// The Prometheus metrics (`GET /metrics` on the admin listener).
    public let metrics = PushMetrics()
    /// When the app started (for `uptime`).
    public let startedAt = ContinuousClock.now

    /// Creates the app and installs the `auth` handler on `io`'s main namespace.
    public init(configuration: PushinatorConfiguration, io: SocketIOServer) {
        self.settings = Mutex(configuration)
        self.io = io
        self.clients = io.of("/")
        AuthHandler(users: users, throttle: throttle, metrics: metrics, trustedProxies: { [weak self] in
            self?.settings.withLock { $0.trustedProxies } ?? .none
        }).install(on: clients)
    }

    /// pushinator's version, as `pushinator --version` and the admin `/health` say it.
    public static let version = "1.0.0"

    /// The room of a user's authenticated sockets.
    public static func room(of userID: String) -> String { "user:" + userID }

    /// The argument of a `message` event: JSON.stringify(message) as node pushinator sent it, or the value.
    public func payload(_ message: JSONValue) -> JSONValue {
        settings.withLock { $0.messageEncoding } == .raw ? message : .string(message.jsonString)
    }
}
