import Synchronization

/// Makes "is the user connected? then emit, else queue" (``PushApp``) one step against `auth` (take the queue,
/// join the room; ``AuthHandler``): a message is either delivered live or queued and handed over at the next
/// auth, never neither.
public final class DeliveryLock: Sendable {
    private let mutex = Mutex(())

    /// Creates a lock.
    public init() {}

    /// Runs `body` holding the lock.
    public func withLock<Result>(_ body: () -> Result) -> Result {
        mutex.withLock { _ in body() }
    }
}
