/// The bytes one holder (a connection's request body, a WebSocket message being reassembled, a connection's
/// outbound queue) has reserved from a ``MemoryBudget``, given back together.
///
/// A value owned by one event-loop-confined object; each ``add(_:)`` is one atomic add on the budget.
struct MemoryCharge {
    let budget: MemoryBudget
    let use: MemoryBudget.Use
    /// The bytes reserved now.
    private(set) var bytes = 0

    init(_ budget: MemoryBudget, for use: MemoryBudget.Use) {
        self.budget = budget
        self.use = use
    }

    /// Reserves `count` more bytes.
    /// - Returns: `false` when the budget refused them (nothing more is reserved; what was held stays held).
    mutating func add(_ count: Int) -> Bool {
        guard budget.tryReserve(count, for: use) else { return false }
        bytes += max(0, count)
        return true
    }

    /// Gives back `count` of the bytes reserved (at most what is held).
    mutating func release(_ count: Int) {
        let count = min(count, bytes)
        guard count > 0 else { return }
        budget.release(count)
        bytes -= count
    }

    /// Gives back everything reserved.
    mutating func releaseAll() {
        guard bytes > 0 else { return }
        budget.release(bytes)
        bytes = 0
    }
}
