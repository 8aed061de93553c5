import PushinatorHTTP

/// The bytes the unfinished binary packets of all connections may hold together.
///
/// A binary packet announces its attachments in its text part and they follow as separate messages; until the
/// last one arrives the server keeps the others. Each connection is limited on its own
/// (``SocketIOConfiguration/maxPendingBinaryBytes``); this budget bounds the sum over many connections that each
/// stop one attachment short (``SocketIOConfiguration/maxPendingBinaryBytesTotal``), and charges the same bytes to
/// the process-wide ``MemoryBudget`` (``SocketIOConfiguration/memoryBudget``). A connection whose attachment does
/// not fit in either is refused.
final class PartialBinaryBudget: Sendable {
    private let own: MemoryBudget
    private let process: MemoryBudget

    /// Creates a budget of `limit` bytes whose reservations are also charged to `process`.
    init(limit: Int, process: MemoryBudget = MemoryBudget(limit: nil)) {
        self.own = MemoryBudget(limit: limit)
        self.process = process
    }

    /// The most bytes the unfinished binary packets may hold.
    var limit: Int { own.limit ?? .max }

    /// The bytes held now.
    var usedBytes: Int { own.reserved }

    /// Takes `bytes` from this budget and the process-wide one; false (and nothing taken) when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        guard own.tryReserve(bytes) else { return false }
        guard process.tryReserve(bytes, for: .binaryAttachments) else {
            own.release(bytes)
            return false
        }
        return true
    }

    /// Gives back `bytes` taken with ``reserve(_:)``.
    func release(_ bytes: Int) {
        own.release(bytes)
        process.release(bytes)
    }
}
