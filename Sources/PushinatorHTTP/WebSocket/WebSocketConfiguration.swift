/// Limits of WebSocket connections.
public struct WebSocketConfiguration: Sendable {
    /// The largest message (after reassembling fragments); larger ones close the connection with 1009. Default 1 MiB.
    public var maxMessageSize: Int
    /// The most bytes queued for a client that does not read; past it the policy applies to what is written (under
    /// ``SlowConsumerPolicy/drop`` the connection also stops reading the client's frames until the queue is below
    /// half of it). Default 4 MiB.
    public var maxBufferedBytes: Int
    /// What to do with a client whose outbound queue is full.
    public var slowConsumerPolicy: SlowConsumerPolicy
    /// A client still behind (more than `maxBufferedBytes` queued) this long after it fell behind is closed, whether
    /// or not it drained for a while in between. Default 30 s.
    public var writeTimeout: Duration
    /// How long the peer has to answer our close frame (or to read our answer to its own) before the connection is
    /// closed without waiting further. Default 3 s.
    public var closeTimeout: Duration
    /// The process-wide budget that messages being received are charged to (their frames, until the message is
    /// delivered; a refusal closes the connection with 1013), and the outbound queue of a client that stopped
    /// reading (``maxBufferedBytes`` while it is behind; a refusal closes with 1013). Default ``MemoryBudget/shared``.
    public var memoryBudget: MemoryBudget
    /// Counts the connections closed and the messages dropped by the policy (for metrics). Default none.
    public var slowConsumers: SlowConsumerCounter?

    /// Creates a configuration.
    public init(
        maxMessageSize: Int = 1 << 20,
        maxBufferedBytes: Int = 4 << 20,
        slowConsumerPolicy: SlowConsumerPolicy = .disconnect,
        writeTimeout: Duration = .seconds(30),
        closeTimeout: Duration = .seconds(3),
        memoryBudget: MemoryBudget = .shared,
        slowConsumers: SlowConsumerCounter? = nil
    ) {
        self.maxMessageSize = maxMessageSize
        self.maxBufferedBytes = maxBufferedBytes
        self.slowConsumerPolicy = slowConsumerPolicy
        self.writeTimeout = writeTimeout
        self.closeTimeout = closeTimeout
        self.memoryBudget = memoryBudget
        self.slowConsumers = slowConsumers
    }
}
