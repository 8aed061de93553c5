// The pushinator application: the admin API a backend calls, and the Socket.IO namespace browsers join.
import HTTPTypes
public import Logging
import NIOCore
public import PushinatorHTTP
public import PushinatorJSON
import PushinatorRuntime
public import PushinatorSocketIO
public import Synchronization

/// The user a socket authenticated as.
public enum AuthenticatedUser: SocketStorageKey { public typealias Value = String }

/// The pushinator application: browsers `auth` on the client namespace, the backend calls the admin router.
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
    /// When the app started (for `uptime`).
    public let startedAt = ContinuousClock.now

    /// Creates the app and installs the `auth` handler on `io`'s main namespace.
    public init(configuration: PushinatorConfiguration, io: SocketIOServer) {
        self.settings = Mutex(configuration)
        self.io = io
        self.clients = io.of("/")
        configureClients()
    }

    /// The room of a user's authenticated sockets.
    public static func room(of userID: String) -> String { "user:" + userID }

    // MARK: Browser clients: emit('auth', userId, hash), then receive 'message'

    private func configureClients() {
        let (users, throttle, clients) = (self.users, self.throttle, self.clients)
        clients.on("auth") { socket, event in
            let address = socket.handshake.address?.ipAddress ?? "unknown"
            func refuse(_ reason: String) {
                event.ack(["ok": false, "error": .string(reason)])
                socket.disconnect()
            }
            guard throttle.allows(address) else { return refuse("Too many failed attempts, try again later") }
            guard let userID = AdminAPI.userID(event.arguments.first),
                let hash = event.arguments.count > 1 ? AdminAPI.userID(event.arguments[1]) : nil
            else { return refuse("auth needs a userId and a hash") }
            guard users.verify(userID, hash: hash) else {
                throttle.recordFailure(address)
                clients.logger.info("auth refused", metadata: ["sio.sid": "\(socket.id)", "push.user": "\(userID)"])
                return refuse("Unknown user or wrong hash")
            }
            if let previous = socket[AuthenticatedUser.self] {  // a second auth moves the socket
                socket.leave(Self.room(of: previous))
                users.connectionClosed(previous)
            }
            socket[AuthenticatedUser.self] = userID
            socket.join(Self.room(of: userID), "authenticated")
            users.connectionOpened(userID)
            clients.logger.debug("auth accepted", metadata: ["sio.sid": "\(socket.id)", "push.user": "\(userID)"])
            event.ack(["ok": true])
        }
        clients.onDisconnect { socket, _ in
            if let userID = socket[AuthenticatedUser.self] { users.connectionClosed(userID) }
        }
    }

    /// The argument of a `message` event: JSON.stringify(message) as node pushinator sent it, or the value.
    public func payload(_ message: JSONValue) -> JSONValue {
        settings.withLock { $0.messageEncoding } == .raw ? message : .string(message.jsonString)
    }

    // MARK: Admin API (POST, JSON bodies whatever the Content-Type)

    /// The admin API: POST routes with JSON bodies, behind the ``AdminGuard``.
    public func adminRouter(logger: Logger) -> Router {
        let (users, clients) = (self.users, self.clients)
        return Router {
            RequestLogMiddleware(.debug)
            AdminGuard { [self] in settings.withLock { ($0.adminToken, $0.adminAllowedOrigins) } }
            Get("health") { _, _ in AdminAPI.ok() }
            Post("ping") { _, _ in Response.json(["result": "pong", "status": 200]) }
            Post("user/register") { request, _ in
                let body = try AdminAPI.body(of: request)
                guard let userID = AdminAPI.userID(body["userId"]), let hash = AdminAPI.userID(body["hash"]) else {
                    throw AdminAPI.missing("Missing userId or hash in data", body: body)
                }
                users.register(userID, hash: hash)
                return AdminAPI.ok()
            }
            Post("user/unregister") { request, _ in
                let body = try AdminAPI.body(of: request)
                guard let userID = AdminAPI.userID(body["userId"]) else {
                    throw AdminAPI.missing("Missing userId in data", body: body)
                }
                let removed = users.unregister(userID)
                clients.to(Self.room(of: userID)).disconnectSockets()
                return AdminAPI.ok(["removed": .bool(removed)])
            }
            Post("user/send") { [self] request, _ in
                let body = try AdminAPI.body(of: request)
                let userIDs = body["userIds"]?.array?.compactMap(AdminAPI.userID) ?? AdminAPI.userID(body["userId"]).map { [$0] }
                guard let userIDs, !userIDs.isEmpty, let message = body["message"] else {
                    throw AdminAPI.missing("Missing userId or message in data", body: body)
                }
                let delivered = clients.to(userIDs.map(Self.room(of:))).emit("message", [payload(message)])
                return AdminAPI.ok(["delivered": .integer(delivered)])
            }
            Post("broadcast") { [self] request, _ in
                let body = try AdminAPI.body(of: request)
                guard let message = body["message"] else { throw AdminAPI.missing("Missing message in data", body: body) }
                return AdminAPI.ok(["delivered": .integer(clients.to("authenticated").emit("message", [payload(message)]))])
            }
            Post("user/list") { _, _ in AdminAPI.ok(["users": .array(users.userIDs.map(JSONValue.string))]) }
            Post("stats") { [startedAt] _, _ in
                let memory = ProcessMemory.current()
                return AdminAPI.ok([
                    "memory": ["rss": .integer(memory.resident), "peakRss": .integer(memory.peakResident), "virtual": .integer(memory.virtual)],
                    "users": .integer(users.count),
                    "connections": .integer(clients.socketCount),
                    "uptime": .integer(Int((ContinuousClock.now - startedAt).components.seconds)),
                ])
            }
        }
    }
}
