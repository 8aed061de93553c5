public import Logging
public import PushinatorJSON
import PushinatorEventLoop
import Synchronization

/// A Socket.IO namespace: its connect middleware, event handlers, sockets and rooms.
///
/// ```swift
/// io.namespace("/chat") { chat in
///     chat.use { socket in
///         guard socket.handshake.auth["token"]?.string != nil else { throw ConnectError("unauthorized") }
///     }
///     chat.on("message") { socket, event in
///         chat.to("lobby").emit("message", event.arguments)
///         event.ack("ok")
///     }
/// }
/// ```
public final class Namespace: Sendable {
    /// The name, starting with `/`.
    public let name: String
    /// Sockets and rooms.
    public let adapter: any SocketIOAdapter
    /// Connection state recovery, when it is on.
    let recovery: ConnectionStateRecovery?
    /// The namespace's session store, when recovery is on.
    let sessionStore: (any SessionStore)?
    /// The default timeout of acknowledgements.
    let ackTimeout: Duration
    private let ackIDs = Atomic<Int>(0)
    /// The connected sockets by private id, while recovery is on (``restoreSession(pid:offset:)`` takes them over).
    let liveSessions = Mutex<[String: Socket]>([:])
    /// Sockets taken back by connection state recovery.
    let recoveredCount = Atomic<Int>(0)
    /// CONNECTs that asked for a session back and got a fresh one.
    let recoveryRefusedCount = Atomic<Int>(0)
    /// A logger with the namespace in its metadata (`sio.nsp`), for handlers.
    public let logger: Logger
    private let handlers = Mutex(Handlers())
    /// The handlers of events from the other servers of a cluster.
    let serverSideEvents = ServerSideEvents()

    struct Handlers {
        var middleware: [@Sendable (Socket) async throws -> Void] = []
        var recoveryChecks: [@Sendable (PersistedSession) -> Bool] = []
        var connection: [NamespaceHandler<Socket>] = []
        var disconnect: [NamespaceHandler<(Socket, DisconnectReason)>] = []
        var events: [String: NamespaceHandler<(Socket, SocketIOEvent)>] = [:]
        var any: NamespaceHandler<(Socket, SocketIOEvent)>?
    }

    init(
        name: String,
        configuration: SocketIOConfiguration,
        makeAdapter: (AdapterContext) -> any SocketIOAdapter,
        logger: Logger
    ) {
        self.name = name
        let store = configuration.recovery.map { $0.makeStore(name, $0) }
        self.sessionStore = store
        self.adapter = makeAdapter(AdapterContext(namespace: name, store: store, serverSideEvents: serverSideEvents))
        self.recovery = configuration.recovery
        self.ackTimeout = configuration.ackTimeout
        var logger = logger
        logger[metadataKey: "sio.nsp"] = "\(name)"
        self.logger = logger
    }

    // MARK: Registration

    /// Adds connect middleware: it runs, in order, before the client's CONNECT is answered; throwing
    /// ``ConnectError`` refuses the connection with that message and data.
    public func use(_ middleware: @escaping @Sendable (Socket) async throws -> Void) {
        handlers.withLock { $0.middleware.append(middleware) }
    }

    /// Adds a check that a session whose connection dropped may be taken back (connection state recovery).
    ///
    /// It runs when a client asks for its session back, after the session was found and before anything of it is
    /// restored or replayed, whatever `skipMiddlewares` says. When any check returns `false` the session is
    /// dropped and the client gets a fresh one (`socket.recovered` is `false`): use it to refuse sessions whose
    /// credentials were revoked while they were away.
    ///
    /// ```swift
    /// chat.allowRecovery { session in session.storage[UserID.self].map(tokens.isValid) ?? true }
    /// ```
    public func allowRecovery(_ check: @escaping @Sendable (PersistedSession) -> Bool) {
        handlers.withLock { $0.recoveryChecks.append(check) }
    }

    /// Runs `handler` for every socket that connected (after the CONNECT answer was sent).
    public func onConnection(_ handler: @escaping @Sendable (Socket) async -> Void) {
        handlers.withLock { $0.connection.append(NamespaceHandler(synchronously: nil, run: handler)) }
    }

    /// Runs a connection handler with a fast path, as ``on(_:synchronously:handler:)`` does for events:
    /// `synchronously` runs on the event loop without a task and returns `true` when it handled the socket;
    /// when it returns `false` (without having acted), `handler` runs in a task. Connection handlers run in the
    /// order they were added, so once one needs a task, the ones after it run in that task too.
    public func onConnection(
        synchronously: @escaping @Sendable (Socket) -> Bool,
        handler: @escaping @Sendable (Socket) async -> Void
    ) {
        handlers.withLock { $0.connection.append(NamespaceHandler(synchronously: synchronously, run: handler)) }
    }

    /// Runs `handler` when a socket leaves the namespace, with the reason.
    public func onDisconnect(_ handler: @escaping @Sendable (Socket, DisconnectReason) async -> Void) {
        handlers.withLock {
            $0.disconnect.append(NamespaceHandler(synchronously: nil, run: { await handler($0.0, $0.1) }))
        }
    }

    /// Runs a disconnect handler with a fast path (see ``onConnection(synchronously:handler:)``).
    public func onDisconnect(
        synchronously: @escaping @Sendable (Socket, DisconnectReason) -> Bool,
        handler: @escaping @Sendable (Socket, DisconnectReason) async -> Void
    ) {
        handlers.withLock {
            $0.disconnect.append(
                NamespaceHandler(synchronously: { synchronously($0.0, $0.1) }, run: { await handler($0.0, $0.1) })
            )
        }
    }

    /// Handles `event` with its raw arguments; answer the client's callback with ``SocketIOEvent/ack(_:)``.
    ///
    /// The handler runs in a task (`Task.immediate`: on the connection's event loop until it first suspends).
    /// A thrown error is logged with the socket id and namespace; the socket stays connected.
    public func on(_ event: String, _ handler: @escaping @Sendable (Socket, SocketIOEvent) async throws -> Void) {
        handlers.withLock {
            $0.events[event] = NamespaceHandler(synchronously: nil, run: { try await handler($0.0, $0.1) })
        }
    }

    /// Handles `event` with a fast path, as the HTTP router's `Route(_:_:synchronously:handler:)` does for requests:
    /// `synchronously` runs on the connection's event loop without a task and returns `true` when it handled the
    /// event; when it returns `false` (it must not have acted then: no ack, no emit), `handler` handles the event
    /// in a task. An error thrown by either is logged as for ``on(_:_:)``; a fast path that throws has handled the
    /// event.
    ///
    /// ```swift
    /// chat.on("join", synchronously: { socket, event in
    ///     guard !rooms.needsDatabase else { return false }  // decided before acting
    ///     socket.join(rooms.local(event.arguments))
    ///     event.ack(ok)
    ///     return true
    /// }, handler: { socket, event in
    ///     socket.join(try await rooms.load(event.arguments))
    ///     event.ack(ok)
    /// })
    /// ```
    ///
    /// A task per event costs the server far more than an event that does not wait on anything (pushinator's
    /// `auth` over an in-memory user store).
    public func on(
        _ event: String,
        synchronously: @escaping @Sendable (Socket, SocketIOEvent) throws -> Bool,
        handler: @escaping @Sendable (Socket, SocketIOEvent) async throws -> Void
    ) {
        handlers.withLock {
            $0.events[event] = NamespaceHandler(
                synchronously: { try synchronously($0.0, $0.1) },
                run: { try await handler($0.0, $0.1) }
            )
        }
    }

    /// Handles `event` whose first argument decodes as `Input`; the handler's return value is the
    /// acknowledgement sent to the client's callback.
    ///
    /// ```swift
    /// chat.on("message", as: ChatMessage.self) { socket, message in
    ///     Receipt(id: message.id)
    /// }
    /// ```
    public func on<Input: Decodable & SendableMetatype, Output: Encodable & SendableMetatype>(
        _ event: String,
        as input: Input.Type,
        _ handler: @escaping @Sendable (Socket, Input) async throws -> Output
    ) {
        on(event) { socket, event in
            let value = try event.argument(0, as: Input.self)
            let output = try await handler(socket, value)
            if event.wantsAck { event.ack([try JSONValue(encoding: output)]) }
        }
    }

    /// Handles `event` whose first argument decodes as `Input`; a client callback is answered with no arguments.
    public func on<Input: Decodable & SendableMetatype>(
        _ event: String,
        as input: Input.Type,
        _ handler: @escaping @Sendable (Socket, Input) async throws -> Void
    ) {
        on(event) { socket, event in
            try await handler(socket, try event.argument(0, as: Input.self))
            if event.wantsAck { event.ack([]) }
        }
    }

    /// Handles `event` sent by another server of a cluster with ``serverSideEmit(_:_:timeout:)`` (socket.io's
    /// `io.on(event)` for `io.serverSideEmit`); the returned value, unless `nil`, is the answer that server collects.
    public func onServerSideEmit(_ event: String, _ handler: @escaping ServerSideEvents.Handler) {
        serverSideEvents.on(event, handler)
    }

    /// Sends `event` to the other servers of a cluster (not to clients) and collects their answers.
    /// - Returns: One answer per server that answered in time; empty on a single server.
    public func serverSideEmit(_ event: String, _ arguments: [JSONValue], timeout: Duration? = nil) async -> [[JSONValue]] {
        await adapter.serverSideEmit(event, arguments, timeout: timeout ?? ackTimeout)
    }

    /// Sends `event` to the other servers of a cluster (not to clients) without collecting answers: it returns at
    /// once, the message queued for the bus behind what this server published before (socket.io's
    /// `io.serverSideEmit` without an acknowledgement). The other servers' ``onServerSideEmit(_:_:)`` handlers run;
    /// what they return goes nowhere.
    public func serverSideEmitWithoutAnswers(_ event: String, _ arguments: [JSONValue]) {
        adapter.serverSideEmitWithoutAnswers(event, arguments)
    }

    /// The number of sockets of the namespace on every server of a cluster.
    public func clientCount() async -> Int { await adapter.clientCount() }

    /// Handles every event that has no handler of its own.
    public func onAny(_ handler: @escaping @Sendable (Socket, SocketIOEvent) async throws -> Void) {
        handlers.withLock { $0.any = NamespaceHandler(synchronously: nil, run: { try await handler($0.0, $0.1) }) }
    }

    // MARK: Broadcasting and inspection

    /// A broadcast to `rooms`.
    public func to(_ rooms: String...) -> BroadcastOperator {
        BroadcastOperator(namespace: self, target: BroadcastTarget(rooms: Set(rooms)))
    }

    /// A broadcast to `rooms`.
    public func to(_ rooms: some Sequence<String>) -> BroadcastOperator {
        BroadcastOperator(namespace: self, target: BroadcastTarget(rooms: Set(rooms)))
    }

    /// A broadcast to `rooms` (the array form: not generic, so a call from another module does not pay for
    /// generic metadata on every send).
    public func to(_ rooms: [String]) -> BroadcastOperator {
        BroadcastOperator(namespace: self, target: BroadcastTarget(rooms: Set(rooms)))
    }

    /// A broadcast to everyone but the sockets in `rooms`.
    public func except(_ rooms: String...) -> BroadcastOperator {
        BroadcastOperator(namespace: self, target: BroadcastTarget(except: Set(rooms)))
    }

    /// A broadcast to the whole namespace whose events may be lost (not buffered for recovery).
    public var volatile: BroadcastOperator { BroadcastOperator(namespace: self).volatile }

    /// Sends `event` to every socket of the namespace.
    /// - Returns: The number of sockets reached.
    @discardableResult
    public func emit(_ event: String, _ arguments: [JSONValue]) -> Int {
        BroadcastOperator(namespace: self).emit(event, arguments)
    }

    /// Sends `event` to every socket of the namespace.
    @discardableResult
    public func emit(_ event: String, _ arguments: JSONValue...) -> Int { emit(event, arguments) }

    /// Sends `event` to every socket of the namespace and waits for their acknowledgements.
    public func emitWithAck(_ event: String, _ arguments: [JSONValue], timeout: Duration? = nil) async -> BroadcastAcks {
        await BroadcastOperator(namespace: self).emitWithAck(event, arguments, timeout: timeout)
    }

    /// The connected sockets.
    public var sockets: [Socket] { adapter.sockets(in: [], except: []) }

    /// The number of connected sockets.
    public var socketCount: Int { adapter.count }

    /// The connected socket with `id`.
    public func socket(id: String) -> Socket? { adapter.sockets(in: [id], except: []).first }

    /// Every room with the ids of its sockets (each socket's own room included).
    public var rooms: [String: Set<String>] { adapter.allRooms() }

    /// Disconnects every socket of the namespace.
    public func disconnectSockets() { BroadcastOperator(namespace: self).disconnectSockets() }

    /// What the namespace's session store holds and dropped; `nil` while connection state recovery is off.
    public var recoveryStatistics: SessionStoreStatistics? {
        guard var statistics = sessionStore?.statistics else { return nil }
        statistics.recovered = recoveredCount.load(ordering: .relaxed)
        statistics.refused = recoveryRefusedCount.load(ordering: .relaxed)
        return statistics
    }

    /// An acknowledgement id unique in the namespace (as socket.io's `nsp._ids`), so that one broadcast with
    /// acknowledgements can use the same id for every socket.
    func nextAckID() -> Int { ackIDs.wrappingAdd(1, ordering: .relaxed).oldValue }

    // MARK: Running handlers

    var middleware: [@Sendable (Socket) async throws -> Void] { handlers.withLock { $0.middleware } }
    var recoveryChecks: [@Sendable (PersistedSession) -> Bool] { handlers.withLock { $0.recoveryChecks } }

    /// Runs the connection handlers, on the connection's event loop: without a task while their fast paths handle
    /// the socket, the rest in one task preferring `executor`.
    func runConnectionHandlers(_ socket: Socket, executor: EventLoopTaskExecutor?) {
        let logger = self.logger
        NamespaceHandler.runAll(handlers.withLock { $0.connection }, socket, executor: executor) { error in
            logger.error("connection handler failed", metadata: ["sio.sid": "\(socket.id)", "error.message": "\(error)"])
        }
    }

    /// Runs the disconnect handlers, as ``runConnectionHandlers(_:executor:)`` does.
    func runDisconnectHandlers(_ socket: Socket, reason: DisconnectReason, executor: EventLoopTaskExecutor?) {
        let logger = self.logger
        NamespaceHandler.runAll(handlers.withLock { $0.disconnect }, (socket, reason), executor: executor) { error in
            logger.error("disconnect handler failed", metadata: ["sio.sid": "\(socket.id)", "error.message": "\(error)"])
        }
    }

    /// Runs the handler of `event` on the connection's event loop: its fast path without a task, else the handler
    /// in a task preferring `executor`.
    func dispatch(_ event: SocketIOEvent, from socket: Socket, executor: EventLoopTaskExecutor?) {
        guard let handler = handlers.withLock({ $0.events[event.name] ?? $0.any }) else {
            logger.debug("event without handler", metadata: ["sio.sid": "\(socket.id)", "sio.event": "\(event.name)"])
            return
        }
        let logger = self.logger
        let report: @Sendable (any Error) -> Void = { error in
            logger.error(
                "event handler failed",
                metadata: ["sio.sid": "\(socket.id)", "sio.event": "\(event.name)", "error.message": "\(error)"]
            )
        }
        guard !handler.runSynchronously((socket, event), report: report) else { return }
        Task.immediate(executorPreference: executor) {
            do { try await handler.run((socket, event)) } catch { report(error) }
        }
    }
}
