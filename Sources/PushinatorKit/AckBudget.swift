import Synchronization

/// The delivery acks all `/user/send` requests wait for together, bounded.
final class AckBudget: Sendable {
    /// The most acks waited for at once over all requests.
    static let maxPending = 100_000

    private let pending = Atomic<Int>(0)

    /// Acks waited for now.
    var current: Int { pending.load(ordering: .relaxed) }

    /// Takes up to `wanted` slots; returns how many it got.
    func reserve(_ wanted: Int) -> Int {
        var current = pending.load(ordering: .relaxed)
        while true {
            let granted = max(0, min(wanted, Self.maxPending - current))
            guard granted > 0 else { return 0 }
            let (exchanged, original) = pending.compareExchange(
                expected: current,
                desired: current + granted,
                ordering: .relaxed
            )
            if exchanged { return granted }
            current = original
        }
    }

    /// Gives back `count` slots.
    func release(_ count: Int) {
        if count > 0 { pending.subtract(count, ordering: .relaxed) }
    }
}
