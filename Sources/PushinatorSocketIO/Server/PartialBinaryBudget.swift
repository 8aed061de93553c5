import Synchronization

/// The bytes the unfinished binary packets of all connections may hold together, server-wide.
///
/// A binary packet announces its attachments in its text part and they follow as separate messages; until the
/// last one arrives the server keeps the others. Each connection is limited on its own
/// (``SocketIOConfiguration/maxPendingBinaryBytes``); this budget bounds the sum over many connections that each
/// stop one attachment short. A connection whose attachment does not fit is refused.
final class PartialBinaryBudget: Sendable {
    /// The most bytes held at once.
    let limit: Int
    private let used = Atomic<Int>(0)

    /// Creates a budget of `limit` bytes.
    init(limit: Int) {
        self.limit = limit
    }

    /// The bytes held now.
    var usedBytes: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` from the budget; false (and nothing taken) when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limit else { return false }
            let (exchanged, original) = used.compareExchange(
                expected: current,
                desired: current + bytes,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
    }

    /// Gives back `bytes` taken with ``reserve(_:)``.
    func release(_ bytes: Int) {
        used.subtract(bytes, ordering: .relaxed)
    }
}
