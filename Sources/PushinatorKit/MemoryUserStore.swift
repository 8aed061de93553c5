public import PushinatorHTTP
import Synchronization

/// A ``UserStore`` in memory only: node pushinator's behaviour, everything is gone when the process ends.
public final class MemoryUserStore: DirectoryUserStore {
    private let directory: Mutex<UserDirectory>

    /// Creates an empty store with the given offline-queue limits; the queued bytes are charged to `budget`.
    public init(queueLimits: OfflineQueue.Limits = .init(), budget: MemoryBudget? = .shared) {
        directory = Mutex(UserDirectory(queueLimits: queueLimits, budget: budget))
    }

    /// Runs `body` with the users in memory, under the lock (the read side comes from ``DirectoryUserStore``).
    public func readDirectory<Result: Sendable>(_ body: (UserDirectory) -> Result) -> Result {
        directory.withLock { body($0) }
    }

    public func register(_ userID: String, digest: HashDigest) async throws(UserStoreError) {
        directory.withLock { $0.register(userID, digest: digest) }
    }

    public func unregister(_ userIDs: [String]) async throws(UserStoreError) -> [String] {
        directory.withLock { $0.unregister(userIDs).removed }
    }

    /// Nothing to wait for: the store is this process's memory.
    public var writesCompleteAtOnce: Bool { true }

    public func enqueue(_ message: String, for userIDs: [String], now: Int64) -> QueueWrite {
        QueueWrite(userIDs: directory.withLock { $0.enqueue(message, for: userIDs, now: now).queued.map(\.userID) })
    }

    public func take(for userID: String, now: Int64) -> [QueuedMessage] {
        directory.withLock { $0.queue.take(for: userID, now: now).messages }
    }

    public func expireQueued(now: Int64) {
        directory.withLock { _ = $0.queue.expire(now: now) }
    }

    public var queueStatistics: OfflineQueue.Statistics { directory.withLock { $0.queue.statistics } }

    public func setQueueLimits(_ limits: OfflineQueue.Limits) { directory.withLock { $0.queue.limits = limits } }

    public func close() async {}
}
