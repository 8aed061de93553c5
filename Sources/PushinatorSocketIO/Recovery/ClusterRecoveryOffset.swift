/// A recovery offset on a cluster whose bus keeps a log: a point in one node's stream of events, which any node
/// can map onto the log.
///
/// Text form `<prefix><sequence>.<logPosition>` (both numbers in base 36): `prefix` names the adapter that sent
/// it (new at every start), `sequence` is that adapter's recovery sequence number (its own count of recorded
/// events), `logPosition` the highest log id of another node's event it had delivered by then. A client that
/// got the event at this offset got every event of that node up to `sequence` and every other node's event up to
/// `logPosition`: another node replays the log rows after `logPosition`, leaving out the first node's own rows
/// whose sequence number (`pushinatorSeq`) is at most `sequence`.
public struct ClusterRecoveryOffset: Sendable, Hashable, CustomStringConvertible {
    /// The length of an adapter's prefix.
    public static let prefixLength = 4

    /// The sending adapter's prefix.
    public var prefix: String
    /// The sending adapter's recovery sequence number.
    public var sequence: UInt64
    /// The highest log id of another node's event delivered by then.
    public var logPosition: Int64

    /// Creates an offset.
    public init(prefix: String, sequence: UInt64, logPosition: Int64) {
        self.prefix = prefix
        self.sequence = sequence
        self.logPosition = logPosition
    }

    /// Reads the text form; `nil` for anything else (a single-node offset has no `.` and no log position).
    public init?(parsing text: String) {
        let utf8 = text.utf8
        guard utf8.count > Self.prefixLength + 2, utf8.count <= 64 else { return nil }
        let prefixEnd = text.index(text.startIndex, offsetBy: Self.prefixLength)
        let rest = text[prefixEnd...]
        guard let dot = rest.firstIndex(of: "."),
            let sequence = UInt64(rest[..<dot], radix: 36),
            let position = Int64(rest[rest.index(after: dot)...], radix: 36), position >= 0
        else { return nil }
        self.init(prefix: String(text[..<prefixEnd]), sequence: sequence, logPosition: position)
    }

    /// The text form.
    public var description: String { prefix + String(sequence, radix: 36) + "." + String(logPosition, radix: 36) }
}
