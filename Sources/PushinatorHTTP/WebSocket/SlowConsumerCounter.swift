import Synchronization

/// Counts what the ``SlowConsumerPolicy`` did: connections closed and messages dropped because a client did not read.
///
/// Shared by every connection that names it (``WebSocketConfiguration/slowConsumers``); bumped only when the policy
/// applies, so a client that keeps up costs nothing. Read it for metrics:
/// ```swift
/// let counter = SlowConsumerCounter()
/// let configuration = WebSocketConfiguration(slowConsumers: counter)
/// // later: counter.disconnects, counter.drops
/// ```
public final class SlowConsumerCounter: Sendable {
    private let disconnected = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)

    /// Creates a counter at zero.
    public init() {}

    /// Connections closed because their outbound queue was full, since start.
    public var disconnects: Int { disconnected.load(ordering: .relaxed) }
    /// Messages dropped because the outbound queue was full (``SlowConsumerPolicy/drop``), since start.
    public var drops: Int { dropped.load(ordering: .relaxed) }

    /// Records one connection closed for being slow.
    public func recordDisconnect() { disconnected.add(1, ordering: .relaxed) }
    /// Records one message dropped for a slow client.
    public func recordDrop() { dropped.add(1, ordering: .relaxed) }
}
