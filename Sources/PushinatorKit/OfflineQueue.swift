public import PushinatorHTTP

/// Messages kept for registered users with no live connection, delivered on their next successful `auth`.
///
/// A value type with no I/O: the user stores hold one and persist what it reports (the messages it accepted and
/// the sequence numbers it removed). Every message has a global sequence number, so a user's messages come
/// out in the order they went in, and "oldest" means the same thing for one user and for all of them.
///
/// Bounded three ways (``Limits``): messages per user, age, and bytes over all users. At a limit the oldest
/// messages go first; ``dropped`` and ``expired`` count what went.
///
/// The bytes kept are also charged to a process-wide ``MemoryBudget`` (``MemoryBudget/shared`` by default, use
/// `offline_queue`) and given back when a message is delivered, expires, is pushed out or its user unregistered.
/// When the budget refuses a message, the oldest messages of all users go first until it fits; when nothing is
/// left to push out, the message is not queued. Both count in ``Statistics/dropped``.
public struct OfflineQueue: Sendable {
    /// How much the queue keeps.
    public struct Limits: Sendable, Equatable {
        /// The most messages kept per user; 0 turns the queue off.
        public var maxPerUser: Int
        /// How long a message is kept, in milliseconds; 0 keeps it until delivered or pushed out by a limit.
        public var ttlMilliseconds: Int64
        /// The most bytes of message JSON kept over all users together.
        public var maxBytes: Int

        /// Creates limits; the defaults are the documented ones (100 per user, 60 s, 64 MiB).
        public init(maxPerUser: Int = 100, ttlMilliseconds: Int64 = 60_000, maxBytes: Int = 64 << 20) {
            self.maxPerUser = maxPerUser
            self.ttlMilliseconds = ttlMilliseconds
            self.maxBytes = maxBytes
        }

        /// A queue that keeps nothing.
        public static var off: Limits { Limits(maxPerUser: 0) }
    }

    /// Counters for `/stats`.
    public struct Statistics: Sendable, Equatable {
        /// Messages waiting now.
        public var messages: Int
        /// Bytes of message JSON waiting now.
        public var bytes: Int
        /// Messages pushed out by the per-user or byte limit since start.
        public var dropped: Int
        /// Messages older than the ttl removed undelivered since start.
        public var expired: Int

        /// Creates counters.
        public init(messages: Int, bytes: Int, dropped: Int, expired: Int) {
            self.messages = messages
            self.bytes = bytes
            self.dropped = dropped
            self.expired = expired
        }
    }

    /// The limits applied from the next ``enqueue(_:for:now:)`` on.
    public var limits: Limits
    private var users: [String: [QueuedMessage]] = [:]
    /// Every message in sequence order (user and sequence); entries whose message left early are skipped later.
    private var order: [(sequence: Int64, userID: String)] = []
    private var orderHead = 0
    private var live = 0
    private var bytes = 0
    private var droppedCount = 0
    private var expiredCount = 0
    /// The sequence number the next message gets.
    public private(set) var nextSequence: Int64 = 1
    /// The bytes kept, charged to the process-wide budget (`nil`: not charged).
    private let charge: OfflineQueueCharge?

    /// Creates an empty queue.
    /// - Parameters:
    ///   - limits: what the queue keeps.
    ///   - budget: the process-wide budget the bytes kept are charged to; `nil` charges none.
    public init(limits: Limits = .init(), budget: MemoryBudget? = .shared) {
        self.limits = limits
        self.charge = budget.map(OfflineQueueCharge.init)
    }

    /// The bytes charged to the memory budget now (the bytes kept, or 0 without a budget).
    public var chargedBytes: Int { charge?.bytes ?? 0 }

    /// The counters.
    public var statistics: Statistics {
        Statistics(messages: live, bytes: bytes, dropped: droppedCount, expired: expiredCount)
    }

    /// How many messages wait for `userID`.
    public func count(for userID: String) -> Int { users[userID]?.count ?? 0 }

    /// Keeps `message` (JSON text) for `userID`.
    ///
    /// - Returns: the message kept (nil when the queue is off or the message alone is over the byte limit) and
    ///   the sequence numbers of older messages pushed out to make room.
    public mutating func enqueue(
        _ message: String,
        for userID: String,
        now: Int64
    ) -> (queued: QueuedMessage?, removed: [Int64]) {
        let size = message.utf8.count
        guard limits.maxPerUser > 0 else { return (nil, []) }
        guard size <= limits.maxBytes else {
            droppedCount += 1
            return (nil, [])
        }
        let queued = QueuedMessage(sequence: nextSequence, userID: userID, enqueuedAt: now, message: message)
        nextSequence += 1
        let (kept, removed) = insert(queued)
        return (kept ? queued : nil, removed)
    }

    /// Puts back messages read from a durable store (in any order); expired ones are left out.
    ///
    /// - Returns: the sequence numbers the store should delete (expired, or pushed out by the current limits).
    public mutating func restore(_ messages: [QueuedMessage], now: Int64) -> [Int64] {
        var removed: [Int64] = []
        for message in messages.sorted(by: { $0.sequence < $1.sequence }) {
            nextSequence = max(nextSequence, message.sequence + 1)
            if isExpired(message, now: now) || limits.maxPerUser == 0 {
                removed.append(message.sequence)
            } else {
                let (kept, pushedOut) = insert(message)
                removed += kept ? pushedOut : pushedOut + [message.sequence]
            }
        }
        return removed
    }

    /// Removes and returns `userID`'s messages, oldest first, without the expired ones.
    ///
    /// - Returns: the messages to deliver, and the sequence numbers of every message removed (delivered or expired).
    public mutating func take(for userID: String, now: Int64) -> (messages: [QueuedMessage], removed: [Int64]) {
        guard let waiting = users.removeValue(forKey: userID) else { return ([], []) }
        var messages: [QueuedMessage] = []
        messages.reserveCapacity(waiting.count)
        for message in waiting {
            forget(message)
            if isExpired(message, now: now) { expiredCount += 1 } else { messages.append(message) }
        }
        compactOrderIfNeeded()
        return (messages, waiting.map(\.sequence))
    }

    /// Removes every message of `userID` (the user was unregistered). Returns their sequence numbers.
    public mutating func removeAll(for userID: String) -> [Int64] {
        guard let waiting = users.removeValue(forKey: userID) else { return [] }
        waiting.forEach { forget($0) }
        compactOrderIfNeeded()
        return waiting.map(\.sequence)
    }

    /// Removes the messages older than the ttl (a periodic sweep). Returns their sequence numbers.
    public mutating func expire(now: Int64) -> [Int64] {
        guard limits.ttlMilliseconds > 0 else { return [] }
        var removed: [Int64] = []
        while orderHead < order.count {
            let (sequence, userID) = order[orderHead]
            guard let first = users[userID]?.first, first.sequence == sequence else {
                orderHead += 1  // already delivered or removed
                continue
            }
            guard isExpired(first, now: now) else { break }
            removeOldest(of: userID)
            expiredCount += 1
            removed.append(sequence)
        }
        compactOrderIfNeeded()
        return removed
    }

    /// Removes one message by sequence number if it is still waiting (a durable write of it failed).
    public mutating func remove(sequence: Int64, of userID: String) {
        guard let index = users[userID]?.firstIndex(where: { $0.sequence == sequence }) else { return }
        let message = users[userID]!.remove(at: index)
        if users[userID]!.isEmpty { users[userID] = nil }
        forget(message)
    }

    // MARK: Internals

    private func isExpired(_ message: QueuedMessage, now: Int64) -> Bool {
        limits.ttlMilliseconds > 0 && now - message.enqueuedAt >= limits.ttlMilliseconds
    }

    /// Keeps `message` and pushes out what the limits and the memory budget require. Returns whether it was kept
    /// (not when the budget refuses it with nothing else left to push out) and the sequence numbers pushed out.
    private mutating func insert(_ message: QueuedMessage) -> (kept: Bool, removed: [Int64]) {
        var removed: [Int64] = []
        if let charge {
            while !charge.add(message.byteCount) {
                guard let oldest = oldestUser() else {
                    droppedCount += 1
                    compactOrderIfNeeded()
                    return (false, removed)
                }
                removed.append(removeOldest(of: oldest))
                droppedCount += 1
            }
        }
        users[message.userID, default: []].append(message)
        order.append((message.sequence, message.userID))
        live += 1
        bytes += message.byteCount
        while count(for: message.userID) > limits.maxPerUser {
            removed.append(removeOldest(of: message.userID))
            droppedCount += 1
        }
        while bytes > limits.maxBytes, let oldest = oldestUser() {
            removed.append(removeOldest(of: oldest))
            droppedCount += 1
        }
        compactOrderIfNeeded()
        return (true, removed)
    }

    /// The user whose first message is the oldest of all, skipping stale order entries.
    private mutating func oldestUser() -> String? {
        while orderHead < order.count {
            let (sequence, userID) = order[orderHead]
            if users[userID]?.first?.sequence == sequence { return userID }
            orderHead += 1
        }
        return nil
    }

    @discardableResult
    private mutating func removeOldest(of userID: String) -> Int64 {
        let message = users[userID]!.removeFirst()
        if users[userID]!.isEmpty { users[userID] = nil }
        forget(message)
        return message.sequence
    }

    private mutating func forget(_ message: QueuedMessage) {
        live -= 1
        bytes -= message.byteCount
        charge?.remove(message.byteCount)
    }

    /// Keeps ``order`` at most about twice the live messages (stale entries of delivered messages are dropped).
    private mutating func compactOrderIfNeeded() {
        if live == 0 {
            order.removeAll(keepingCapacity: order.count < 4096)
            orderHead = 0
            return
        }
        guard order.count - orderHead > 2 * live + 64 || orderHead > 4096 else { return }
        order = order[orderHead...].filter { entry in
            users[entry.userID]?.contains(where: { $0.sequence == entry.sequence }) == true
        }
        orderHead = 0
    }
}
