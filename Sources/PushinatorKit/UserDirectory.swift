public import PushinatorHTTP

/// The state every user store keeps in memory: registered users by digest, and the offline queue.
///
/// A value type with no I/O and no locking; a store wraps it in a `Mutex` and persists what the operations
/// report.
public struct UserDirectory: Sendable {
    /// The registered users' hash digests.
    public private(set) var digests: [String: HashDigest] = [:]
    /// The offline queue.
    public var queue: OfflineQueue

    /// Creates an empty directory.
    /// - Parameters:
    ///   - queueLimits: the offline queue's limits.
    ///   - budget: the process-wide budget the queued bytes are charged to (`nil`: none).
    public init(queueLimits: OfflineQueue.Limits = .init(), budget: MemoryBudget? = .shared) {
        queue = OfflineQueue(limits: queueLimits, budget: budget)
    }

    /// Whether `hash` matches `userID`'s digest (constant time).
    public func verify(_ userID: String, hash: String) -> Bool {
        guard let digest = digests[userID] else {
            _ = HashDigest(of: hash)  // the same work for unknown users
            return false
        }
        return digest.matches(hash)
    }

    /// Makes room for `count` users (a store reading many at once).
    public mutating func reserveUsers(_ count: Int) { digests.reserveCapacity(count) }

    /// Registers or replaces `userID`'s digest.
    public mutating func register(_ userID: String, digest: HashDigest) {
        digests[userID] = digest
    }

    /// Forgets `userIDs`; returns those that were registered and the sequence numbers of their queued messages.
    public mutating func unregister(_ userIDs: [String]) -> (removed: [String], messages: [Int64]) {
        var removed: [String] = []
        var messages: [Int64] = []
        for userID in userIDs where digests.removeValue(forKey: userID) != nil {
            removed.append(userID)
            messages += queue.removeAll(for: userID)
        }
        return (removed, messages)
    }

    /// Queues `message` for the registered ones of `userIDs` (each once).
    ///
    /// - Returns: the messages queued and the sequence numbers pushed out to make room.
    public mutating func enqueue(
        _ message: String,
        for userIDs: [String],
        now: Int64
    ) -> (queued: [QueuedMessage], removed: [Int64]) {
        var queued: [QueuedMessage] = []
        var removed: [Int64] = []
        var seen = Set<String>()
        for userID in userIDs where digests[userID] != nil && seen.insert(userID).inserted {
            let result = queue.enqueue(message, for: userID, now: now)
            if let message = result.queued { queued.append(message) }
            removed += result.removed
        }
        // A message pushed out by a later one of the same call is not queued after all.
        if !removed.isEmpty {
            let gone = Set(removed)
            queued.removeAll { gone.contains($0.sequence) }
        }
        return (queued, removed)
    }
}
