import PushinatorHTTP
import Synchronization

/// The bytes an ``OfflineQueue`` holds, charged to a process-wide ``MemoryBudget`` (use `offline_queue`).
///
/// A reference the queue value shares with its copies: the charge is one per queue, and what is still held when
/// the last copy goes is given back then.
final class OfflineQueueCharge: Sendable {
    let budget: MemoryBudget
    private let held = Atomic<Int>(0)

    init(_ budget: MemoryBudget) { self.budget = budget }

    deinit { budget.release(held.load(ordering: .relaxed)) }

    /// The bytes charged now.
    var bytes: Int { held.load(ordering: .relaxed) }

    /// Charges `count` bytes; `false` when the budget refused them (nothing is charged).
    func add(_ count: Int) -> Bool {
        guard budget.tryReserve(count, for: .offlineQueue) else { return false }
        held.wrappingAdd(count, ordering: .relaxed)
        return true
    }

    /// Gives back `count` bytes.
    func remove(_ count: Int) {
        held.wrappingSubtract(count, ordering: .relaxed)
        budget.release(count)
    }
}
