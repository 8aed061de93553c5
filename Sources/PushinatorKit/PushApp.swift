import HTTPTypes
import Logging
public import NIOCore
import PushinatorHTTP
public import PushinatorJSON
public import PushinatorRuntime
public import PushinatorSocketIO
public import ServiceLifecycle
public import Synchronization

/// The pushinator application's state: browsers `auth` on the client namespace (``AuthHandler``), the backend calls
/// the admin API (``AdminRouter``).
public final class PushApp: Sendable {
    /// The registered users.
    public let users: UserRegistry
    /// Failed `auth` attempts.
    public let throttle = AuthThrottle()
    /// The running configuration (swapped on reload).
    public let settings: Mutex<PushinatorConfiguration>
    /// The Socket.IO server of the client port.
    public let io: SocketIOServer
    /// The namespace browsers join (`/`).
    public let clients: Namespace
    /// The Prometheus metrics (`GET /metrics` on the admin listener); `nil` with `admin.metrics: false` (read at
    /// start).
    public let metrics: PushMetrics?
    /// Messages the backend sent (`/user/send`, `/broadcast`), since start.
    let messagesSent = TotalCounter()
    /// Copies of messages handed to sockets, since start.
    let messagesDelivered = TotalCounter()
    /// When the app started (for `uptime`).
    public let startedAt = ContinuousClock.now
    /// Orders live delivery and queueing against `auth`.
    let delivery = DeliveryLock()
    /// Delivery acks waited for now, over all requests (bounded).
    let ackBudget = AckBudget()
    /// Messages per second over the last minutes, for the status page (filled by ``services(eventLoopGroup:)``).
    public let history = StatusHistory()
    /// How late the event loops run (probed by ``services(eventLoopGroup:)``).
    public let eventLoopLag = EventLoopLag()
    /// The last warnings logged, for the status page (fed by the log handler ``RecentWarnings/handler(label:)``).
    public let warnings: RecentWarnings

    /// Creates the app and installs the `auth` handler on `io`'s main namespace.
    /// - Parameters:
    ///   - configuration: The settings.
    ///   - io: The Socket.IO server of the client port.
    ///   - users: The registry, over the store `users.store` names (in memory by default).
    ///   - cluster: This node's cluster, whose adapters `io` was made with; `nil` for a single node.
    ///   - warnings: Where the process's log handler keeps the last warnings (shown on the status page).
    public init(
        configuration: PushinatorConfiguration,
        io: SocketIOServer,
        users: UserRegistry = UserRegistry(),
        cluster: SocketIOCluster? = nil,
        warnings: RecentWarnings = RecentWarnings()
    ) {
        self.warnings = warnings
        self.metrics = configuration.adminMetrics ? PushMetrics() : nil
        self.settings = Mutex(configuration)
        self.io = io
        self.users = users
        self.cluster = cluster
        self.clients = io.of("/")
        users.store.setQueueLimits(configuration.offlineQueue)
        var onAccepted: (@Sendable (String) -> Void)?
        var onRecovered: (@Sendable (String) -> Void)?
        if users.store.isShared {  // one queue for every node: take what a racing send queued after the auth
            onAccepted = { [weak self] userID in self?.collectLateQueued(for: userID) }
        } else if cluster != nil {
            onAccepted = { [weak self] userID in self?.collectQueuedElsewhere(for: userID) }
            onRecovered = { [weak self] userID in self?.dropQueuedElsewhere(for: userID) }
        }
        AuthHandler(
            users: users,
            throttle: throttle,
            metrics: metrics,
            trustedProxies: { [weak self] in self?.settings.withLock { $0.trustedProxies } ?? .none },
            delivery: delivery,
            rawMessages: { [weak self] in self?.settings.withLock { $0.messageEncoding } == .raw },
            onAccepted: onAccepted,
            onRecovered: onRecovered
        ).install(on: clients)
        if cluster != nil { installReplication() }
    }

    /// This node's cluster, when `cluster.postgres` is configured (the namespaces then use its adapters).
    public let cluster: SocketIOCluster?
    /// The services that keep the status page's history and the event-loop lag up to date; run them beside the
    /// servers (they stop on graceful shutdown).
    public func services(eventLoopGroup: any EventLoopGroup) -> [any Service] {
        let (sent, delivered) = (messagesSent, messagesDelivered)
        return [
            history.sampler(sent: { sent.value }, delivered: { delivered.value }),
            eventLoopLag.probe(eventLoopGroup),
        ]
    }

    /// pushinator's version, as `pushinator --version` and the admin `/health` say it.
    public static let version = "1.0.0"

    /// Counts one message the backend sent and the copies handed to sockets.
    func countSent(delivered: Int) {
        messagesSent.increment()
        messagesDelivered.increment(by: delivered)
    }

    /// The room of a user's authenticated sockets.
    public static func room(of userID: String) -> String { "user:" + userID }

    /// The argument of a `message` event: JSON.stringify(message) as node pushinator sent it, or the value.
    public func payload(_ message: JSONValue) -> JSONValue {
        settings.withLock { $0.messageEncoding } == .raw ? message : .string(message.jsonString)
    }

    /// The argument of a `message` event for a message queued as JSON text.
    static func payload(jsonText: String, raw: Bool) -> JSONValue {
        guard raw else { return .string(jsonText) }
        return (try? JSONValue(parsing: jsonText)) ?? .string(jsonText)
    }

    /// Sends `message` to `userIDs`: live to their connections, queued for those registered with none.
    ///
    /// - Returns: The connections reached (and how many acked, when `ack` is set), and the queue write to await.
    func deliver(
        _ message: JSONValue,
        to userIDs: [String],
        ack: DeliveryAck?
    ) async -> (delivered: Int, acked: Int?, queued: QueueWrite) {
        guard let ack else {
            let (delivered, queued) = deliverNow(message, to: userIDs)
            return (delivered, nil, queued)
        }
        let (argument, text) = encoded(message)
        let (sockets, reachedOffline, queued) = delivery.withLock {
            var (online, offline): ([String], [String]) = ([], [])
            for userID in userIDs {
                if users.isConnected(userID) { online.append(userID) } else { offline.append(userID) }
            }
            let sockets = online.isEmpty ? [] : clients.to(online.map(Self.room(of:))).sockets
            guard !offline.isEmpty else { return (sockets, 0, QueueWrite(userIDs: [])) }
            // Events with acks are not buffered for connection state recovery: the offline users' rooms get the
            // message without one, buffered, so that a tab in its recovery window has it in its replay (and its
            // queued copy is dropped when it comes back, as without `ack`).
            let reached = clients.to(offline.map(Self.room(of:))).emit("message", [argument])
            let now = WallClock.milliseconds()
            return (sockets, reached, users.store.enqueue(text ?? message.jsonString, for: offline, now: now))
        }
        let acked = await ack.collect(argument, from: sockets, budget: ackBudget)
        return (sockets.count + reachedOffline, acked, queued)
    }

    /// ``deliver(_:to:ack:)`` without an ack: nothing to wait for but the queue write.
    func deliverNow(_ message: JSONValue, to userIDs: [String]) -> (delivered: Int, queued: QueueWrite) {
        let (argument, text) = encoded(message)
        let rooms = userIDs.map(Self.room(of:))
        return delivery.withLock {
            let delivered = clients.to(rooms).emit("message", [argument])
            // No socket in any of the users' rooms: every one of them is offline, also a user whose last socket is
            // leaving (it leaves its rooms before its disconnect handler counts the connection off), so the
            // message is queued rather than neither delivered nor queued.
            return (delivered, enqueue(text, message, forOffline: userIDs, noneReached: delivered == 0))
        }
    }

    /// The `message` event's argument and, when that is the JSON text, the text (encoded once for both).
    func encoded(_ message: JSONValue) -> (argument: JSONValue, text: String?) {
        guard settings.withLock({ $0.messageEncoding }) != .raw else { return (message, nil) }
        let text = message.jsonString
        return (.string(text), text)
    }

    /// Queues `message` for those of `userIDs` with no live connection; call holding ``delivery``. The text is
    /// encoded here only when somebody is offline (raw encoding).
    private func enqueue(
        _ text: String?,
        _ message: JSONValue,
        forOffline userIDs: [String],
        noneReached: Bool = false
    ) -> QueueWrite {
        let offline = noneReached ? userIDs : userIDs.filter { !users.isConnected($0) }
        guard !offline.isEmpty else { return QueueWrite(userIDs: []) }
        return users.store.enqueue(text ?? message.jsonString, for: offline, now: WallClock.milliseconds())
    }

    /// A 503 for a store write that failed (logged); what was stored before stays.
    static func storeUnavailable(_ error: UserStoreError, logger: Logger, call: String) -> HTTPError {
        logger.error("user store write failed", metadata: ["admin.call": "\(call)", "error.message": "\(error.message)"])
        return HTTPError(.serviceUnavailable, message: "User store unavailable: \(error.message)")
    }
}
