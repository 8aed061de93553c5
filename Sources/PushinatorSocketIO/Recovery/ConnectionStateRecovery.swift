/// Connection state recovery: a client whose connection drops gets its socket id, rooms and data back when it
/// reconnects in time, and every event it missed, in order, exactly once (socket.io ≥ 4.6 and its clients).
///
/// ```swift
/// let configuration = SocketIOConfiguration(pingInterval: .seconds(25), pingTimeout: .seconds(20))
///     .connectionStateRecovery(maxDisconnectionDuration: .seconds(120), skipMiddlewares: true)
/// ```
///
/// While it is on, each namespace keeps the events it broadcasts (to rooms, to everyone, or to one socket) in a
/// ``SessionStore``, and every event a client receives carries an offset as its last argument. Volatile events
/// and events that expect an acknowledgement are neither buffered nor given an offset.
public struct ConnectionStateRecovery: Sendable {
    /// How long a disconnected session and the events sent since are kept. Default 2 minutes.
    public var maxDisconnectionDuration: Duration
    /// Whether a recovered socket skips the namespace's connect middleware (it passed it before). Default `true`.
    public var skipMiddlewares: Bool
    /// The most events kept per namespace; the oldest go first. Default 10,000.
    public var maxPackets: Int
    /// The most bytes of events and sessions kept per namespace; the oldest events go first. Default 64 MiB.
    public var maxBytes: Int
    /// The most disconnected sessions kept per namespace; the oldest go first. Default 100,000.
    public var maxSessions: Int
    /// Makes the store of each namespace; a bounded ``InMemorySessionStore`` with the limits above by default.
    public var makeStore: @Sendable (_ namespace: String, _ recovery: ConnectionStateRecovery) -> any SessionStore

    /// Creates the settings.
    /// - Parameters:
    ///   - maxDisconnectionDuration: How long a disconnected session and the events sent since are kept.
    ///   - skipMiddlewares: Whether a recovered socket skips the connect middleware.
    ///   - maxPackets: The most events kept per namespace.
    ///   - maxBytes: The most bytes of events and sessions kept per namespace.
    ///   - maxSessions: The most disconnected sessions kept per namespace.
    ///   - makeStore: Makes the store of each namespace.
    public init(
        maxDisconnectionDuration: Duration = .seconds(120),
        skipMiddlewares: Bool = true,
        maxPackets: Int = 10_000,
        maxBytes: Int = 64 << 20,
        maxSessions: Int = 100_000,
        makeStore: @escaping @Sendable (_ namespace: String, _ recovery: ConnectionStateRecovery) -> any SessionStore =
            { _, recovery in InMemorySessionStore(limits: .init(recovery)) }
    ) {
        self.maxDisconnectionDuration = maxDisconnectionDuration
        self.skipMiddlewares = skipMiddlewares
        self.maxPackets = maxPackets
        self.maxBytes = maxBytes
        self.maxSessions = maxSessions
        self.makeStore = makeStore
    }

    /// The disconnect reasons after which a session is kept (as socket.io): the connection was lost, not left on
    /// purpose (a client that leaves sends DISCONNECT first). "client close" is an Engine.IO close packet over
    /// polling (`socket.io.engine.close()`), which socket.io reports as "transport close".
    static let recoverableReasons: Set<String> = [
        "transport error", "transport close", "client close", "forced close", "ping timeout",
        "server shutting down", "forced server close",
    ]
}

extension SocketIOConfiguration {
    /// This configuration with connection state recovery on.
    /// - Parameters:
    ///   - maxDisconnectionDuration: How long a disconnected session and the events sent since are kept.
    ///   - skipMiddlewares: Whether a recovered socket skips the namespace's connect middleware.
    /// - Returns: The changed configuration.
    public func connectionStateRecovery(
        maxDisconnectionDuration: Duration = .seconds(120),
        skipMiddlewares: Bool = true
    ) -> SocketIOConfiguration {
        var copy = self
        copy.recovery = ConnectionStateRecovery(
            maxDisconnectionDuration: maxDisconnectionDuration,
            skipMiddlewares: skipMiddlewares
        )
        return copy
    }
}
