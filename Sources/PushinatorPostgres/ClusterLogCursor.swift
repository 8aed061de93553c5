/// A node's position in the message log, and the ids it already delivered near it, so that a message that
/// arrives both by notification and by catch-up is delivered once.
///
/// Log ids are handed out when a row is inserted, not when its transaction commits, so a row can become visible
/// after rows with higher ids. A catch-up therefore re-reads ``catchUpWindow`` ids below the position and skips
/// those already ``seen``; only ids delivered in this process are known, so right after a restart the catch-up
/// starts at the saved position itself.
struct ClusterLogCursor: Sendable, Hashable {
    /// The highest log id delivered (or skipped as our own).
    private(set) var position: Int64
    /// The ids delivered above ``floor``.
    private(set) var seen: Set<Int64> = []
    /// Below this, ``seen`` knows nothing (the position when the process started).
    private(set) var floor: Int64
    /// How many ids below the position a catch-up re-reads.
    let window: Int64

    init(position: Int64, window: Int) {
        self.position = position
        self.floor = position
        self.window = Int64(window)
    }

    /// Where a catch-up starts reading (exclusive).
    var catchUpStart: Int64 { max(floor, position - window) }

    /// Records `id`; `false` when it was already delivered. An id at or below ``floor`` can only come by
    /// notification (a catch-up reads above it), and a notification is never a repeat: it is accepted.
    mutating func accept(_ id: Int64) -> Bool {
        guard id > floor else { return true }
        guard seen.insert(id).inserted else { return false }
        if id > position { position = id }
        if seen.count > Int(window) * 2 + 64 {
            // keep the ids a catch-up can still return; those below are known delivered or lost
            let newFloor = position - window
            seen = seen.filter { $0 > newFloor }
            floor = max(floor, newFloor)
        }
        return true
    }
}
