import EngineIO
import PushinatorJSON

/// The node of a cluster an event came from, and where it is in the bus's log.
public struct RecordOrigin: Sendable, Hashable {
    /// The publishing node's uid.
    public var uid: String
    /// The publishing node's recovery sequence number of the event (`pushinatorSeq`), when it recorded it.
    public var sequence: UInt64?
    /// The event's row in the bus's log, when the bus keeps one.
    public var logID: Int64?

    /// Creates an origin.
    public init(uid: String, sequence: UInt64? = nil, logID: Int64? = nil) {
        self.uid = uid
        self.sequence = sequence
        self.logID = logID
    }
}
