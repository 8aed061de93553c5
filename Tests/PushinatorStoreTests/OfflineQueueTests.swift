import PushinatorHTTP
import PushinatorKit
import Testing

/// The offline queue as a value: order, limits, ttl and counters.
@Suite struct OfflineQueueTests {
    private static func make(max: Int = 100, ttl: Int64 = 60_000, maxBytes: Int = 1 << 20) -> OfflineQueue {
        OfflineQueue(limits: .init(maxPerUser: max, ttlMilliseconds: ttl, maxBytes: maxBytes))
    }

    @Test func handsMessagesOverInOrderAndOnlyOnce() {
        var queue = Self.make()
        for text in ["1", "2", "3"] { _ = queue.enqueue(text, for: "a", now: 0) }
        _ = queue.enqueue("x", for: "b", now: 0)
        let taken = queue.take(for: "a", now: 10)
        #expect(taken.messages.map(\.message) == ["1", "2", "3"])
        #expect(taken.removed.count == 3)
        #expect(queue.take(for: "a", now: 10).messages.isEmpty)
        #expect(queue.statistics == .init(messages: 1, bytes: 1, dropped: 0, expired: 0))
    }

    @Test func theOldestOfAUserGoFirstAtThePerUserLimit() {
        var queue = Self.make(max: 2)
        let first = queue.enqueue("1", for: "a", now: 0).queued!
        _ = queue.enqueue("2", for: "a", now: 0)
        let third = queue.enqueue("3", for: "a", now: 0)
        #expect(third.removed == [first.sequence])
        #expect(queue.take(for: "a", now: 0).messages.map(\.message) == ["2", "3"])
        #expect(queue.statistics.dropped == 1)
    }

    @Test func theOldestOfAllGoFirstAtTheByteLimit() {
        var queue = Self.make(maxBytes: 10)
        _ = queue.enqueue("aaaa", for: "a", now: 0)
        _ = queue.enqueue("bbbb", for: "b", now: 0)
        let pushed = queue.enqueue("cccc", for: "b", now: 0)
        #expect(pushed.removed.count == 1)
        #expect(queue.take(for: "a", now: 0).messages.isEmpty)
        #expect(queue.take(for: "b", now: 0).messages.map(\.message) == ["bbbb", "cccc"])
        #expect(queue.statistics.dropped == 1)
    }

    @Test func aMessageOverTheByteLimitAloneIsDroppedAndCounted() {
        var queue = Self.make(maxBytes: 3)
        #expect(queue.enqueue("toolong", for: "a", now: 0).queued == nil)
        #expect(queue.statistics == .init(messages: 0, bytes: 0, dropped: 1, expired: 0))
    }

    @Test func theBytesKeptAreChargedToTheMemoryBudgetAndGivenBack() {
        let budget = MemoryBudget(limit: 10)
        var queue = OfflineQueue(limits: .init(maxBytes: 1 << 20), budget: budget)
        _ = queue.enqueue("aaaa", for: "a", now: 0)
        _ = queue.enqueue("bbbb", for: "b", now: 0)
        #expect(budget.reserved == 8 && queue.chargedBytes == 8)
        // The budget refuses the third: the oldest of all users goes first, counted as dropped.
        let pushed = queue.enqueue("cccc", for: "b", now: 0)
        #expect(pushed.queued != nil && pushed.removed.count == 1)
        #expect(queue.count(for: "a") == 0 && budget.reserved == 8)
        #expect(queue.statistics == .init(messages: 2, bytes: 8, dropped: 1, expired: 0))
        #expect(budget.refusals(for: .offlineQueue) == 1)
        // Delivery gives the bytes back.
        #expect(queue.take(for: "b", now: 0).messages.map(\.message) == ["bbbb", "cccc"])
        #expect(budget.reserved == 0 && queue.chargedBytes == 0)
        // With the budget spent by something else and nothing to push out, the message is not queued (counted).
        #expect(budget.tryReserve(10))
        #expect(queue.enqueue("x", for: "a", now: 0).queued == nil)
        #expect(queue.statistics == .init(messages: 0, bytes: 0, dropped: 2, expired: 0))
        budget.release(10)
        // Unregistering and expiry give the bytes back too.
        _ = queue.enqueue("dd", for: "a", now: 0)
        _ = queue.enqueue("ee", for: "b", now: 0)
        #expect(budget.reserved == 4)
        _ = queue.removeAll(for: "a")
        #expect(budget.reserved == 2)
        queue.limits.ttlMilliseconds = 100
        #expect(queue.expire(now: 200).count == 1)
        #expect(budget.reserved == 0)
    }

    @Test func whatAQueueStillHoldsIsGivenBackWhenItGoes() {
        let budget = MemoryBudget(limit: nil)
        do {
            var queue = OfflineQueue(budget: budget)
            _ = queue.enqueue("kept", for: "a", now: 0)
            #expect(budget.reserved == 4)
        }
        #expect(budget.reserved == 0)
        // Restored messages are charged too; one the budget refuses is to be deleted from the durable store.
        let small = MemoryBudget(limit: 5)
        var restored = OfflineQueue(budget: small)
        let stale = restored.restore(
            [QueuedMessage(sequence: 1, userID: "a", enqueuedAt: 0, message: "abc"),
             QueuedMessage(sequence: 2, userID: "a", enqueuedAt: 0, message: "defg")],
            now: 0
        )
        #expect(stale == [1])  // the older one made room for the newer one
        #expect(small.reserved == 4 && restored.count(for: "a") == 1)
    }

    @Test func maxZeroKeepsNothing() {
        var queue = Self.make(max: 0)
        #expect(queue.enqueue("1", for: "a", now: 0).queued == nil)
        #expect(queue.statistics.messages == 0)
    }

    @Test func expiredMessagesAreNotDeliveredAndAreCounted() {
        var queue = Self.make(ttl: 100)
        _ = queue.enqueue("old", for: "a", now: 0)
        _ = queue.enqueue("new", for: "a", now: 50)
        let taken = queue.take(for: "a", now: 120)
        #expect(taken.messages.map(\.message) == ["new"])
        #expect(taken.removed.count == 2)
        #expect(queue.statistics.expired == 1)
    }

    @Test func theSweepRemovesExpiredMessagesOfEveryUser() {
        var queue = Self.make(ttl: 100)
        _ = queue.enqueue("a1", for: "a", now: 0)
        _ = queue.enqueue("b1", for: "b", now: 10)
        _ = queue.enqueue("a2", for: "a", now: 90)
        #expect(queue.expire(now: 115).count == 2)
        #expect(queue.statistics.expired == 2)
        #expect(queue.take(for: "a", now: 115).messages.map(\.message) == ["a2"])
    }

    @Test func ttlZeroNeverExpires() {
        var queue = Self.make(ttl: 0)
        _ = queue.enqueue("1", for: "a", now: 0)
        #expect(queue.expire(now: .max / 2).isEmpty)
        #expect(queue.take(for: "a", now: .max / 2).messages.count == 1)
    }

    @Test func restoreKeepsOrderAndContinuesTheSequence() {
        var queue = Self.make(max: 2, ttl: 100)
        let stored = [
            QueuedMessage(sequence: 9, userID: "a", enqueuedAt: 50, message: "3"),
            QueuedMessage(sequence: 4, userID: "a", enqueuedAt: 40, message: "2"),
            QueuedMessage(sequence: 2, userID: "a", enqueuedAt: 30, message: "1"),
            QueuedMessage(sequence: 1, userID: "a", enqueuedAt: 0, message: "expired"),
        ]
        let removed = queue.restore(stored, now: 120)
        #expect(Set(removed) == [1, 2])  // expired, then pushed out by max 2
        #expect(queue.nextSequence == 10)
        #expect(queue.take(for: "a", now: 120).messages.map(\.message) == ["2", "3"])
    }

    @Test func manyDeliveriesKeepTheBookkeepingBounded() {
        var queue = Self.make(max: 5)
        for round in 0..<10_000 {
            _ = queue.enqueue("\(round)", for: "u\(round % 7)", now: 0)
            if round % 3 == 0 { _ = queue.take(for: "u\(round % 7)", now: 0) }
        }
        let statistics = queue.statistics
        #expect(statistics.messages <= 35)
        var total = 0
        for user in 0..<7 { total += queue.take(for: "u\(user)", now: 0).messages.count }
        #expect(total == statistics.messages)
        #expect(queue.statistics == .init(messages: 0, bytes: 0, dropped: statistics.dropped, expired: 0))
    }
}
