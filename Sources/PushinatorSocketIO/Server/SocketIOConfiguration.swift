public import EngineIO
public import PushinatorHTTP

/// Settings of a ``SocketIOServer``.
public struct SocketIOConfiguration: Sendable {
    /// The Engine.IO settings (heartbeat, payload limit, transports...).
    public var engine: EngineIOConfiguration
    /// How long a client may stay connected without joining any namespace. Default 45 s.
    public var connectTimeout: Duration
    /// The most binary attachments one packet may carry. Default 10.
    public var maxAttachments: Int
    /// The default timeout of ``Socket/emitWithAck(_:_:timeout:)``. Default 10 s.
    public var ackTimeout: Duration
    /// The most bytes the attachments of one connection's unfinished binary packet may hold; past it the client is
    /// disconnected ("parse error"). Default 8 MiB.
    public var maxPendingBinaryBytes: Int
    /// The most bytes the unfinished binary packets of all connections may hold together; a connection whose
    /// attachment does not fit is disconnected ("parse error"). Default 64 MiB.
    public var maxPendingBinaryBytesTotal: Int
    /// How long a binary packet may wait for its attachments; then the client is disconnected ("parse error").
    /// Default 30 s.
    public var binaryAttachmentTimeout: Duration
    /// The process-wide budget the bytes of unfinished binary packets are also charged to. Default
    /// ``MemoryBudget/shared`` (unlimited until the application sets a limit).
    public var memoryBudget: MemoryBudget
    /// Connection state recovery; `nil` (off) by default, as in socket.io. See
    /// ``connectionStateRecovery(maxDisconnectionDuration:skipMiddlewares:)``.
    public var recovery: ConnectionStateRecovery?

    /// Creates a configuration; every parameter has Socket.IO's default.
    public init(
        engine: EngineIOConfiguration = .init(),
        connectTimeout: Duration = .seconds(45),
        maxAttachments: Int = 10,
        ackTimeout: Duration = .seconds(10),
        maxPendingBinaryBytes: Int = 8 << 20,
        maxPendingBinaryBytesTotal: Int = 64 << 20,
        binaryAttachmentTimeout: Duration = .seconds(30),
        memoryBudget: MemoryBudget = .shared,
        recovery: ConnectionStateRecovery? = nil
    ) {
        self.engine = engine
        self.connectTimeout = connectTimeout
        self.maxAttachments = maxAttachments
        self.ackTimeout = ackTimeout
        self.maxPendingBinaryBytes = maxPendingBinaryBytes
        self.maxPendingBinaryBytesTotal = maxPendingBinaryBytesTotal
        self.binaryAttachmentTimeout = binaryAttachmentTimeout
        self.memoryBudget = memoryBudget
        self.recovery = recovery
    }

    /// Creates a configuration with the common Engine.IO settings at hand.
    public init(
        pingInterval: Duration,
        pingTimeout: Duration,
        maxPayload: Int = 1_000_000,
        connectTimeout: Duration = .seconds(45)
    ) {
        self.init(
            engine: EngineIOConfiguration(pingInterval: pingInterval, pingTimeout: pingTimeout, maxPayload: maxPayload),
            connectTimeout: connectTimeout
        )
    }
}
