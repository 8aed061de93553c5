import EngineIO
import PushinatorJSON

/// A session that ``SocketIOAdapter/restoreSession(pid:offset:)`` gave back.
public struct RestoredSession: Sendable {
    /// The session as it was kept.
    public let session: PersistedSession
    /// The sequence number after which the client missed events.
    public let replayAfter: UInt64
    /// Keeps the in-memory adapter recording broadcasts until the socket is added back (``RestorationClaim``).
    let claim: RestorationClaim?

    /// Events another node's session missed, read from the cluster's log: sent before those after
    /// ``replayAfter``.
    let logReplay: [EngineIOEncodedPacket]
    /// The events in ``logReplay``, left out of the rest of the replay.
    let logReplayed: Set<ReplayKey>

    /// Creates a restored session.
    public init(session: PersistedSession, replayAfter: UInt64) {
        self.init(session: session, replayAfter: replayAfter, logReplay: [], logReplayed: [])
    }

    init(
        session: PersistedSession,
        replayAfter: UInt64,
        logReplay: [EngineIOEncodedPacket],
        logReplayed: Set<ReplayKey>,
        claim: RestorationClaim? = nil
    ) {
        self.session = session
        self.replayAfter = replayAfter
        self.logReplay = logReplay
        self.logReplayed = logReplayed
        self.claim = claim
    }
}

/// One event of a cluster, the same on every node: its log row, or a node's own event by sequence number.
enum ReplayKey: Hashable {
    /// Another node's event, by its log id.
    case log(Int64)
    /// This node's own event, by its recovery sequence number.
    case own(UInt64)

    /// The key of a recorded event; `nil` for another node's event without a log id (it cannot be in a log replay).
    init?(_ record: RecordedPacket) {
        guard let origin = record.origin else {
            self = .own(record.sequence)
            return
        }
        guard let logID = origin.logID else { return nil }
        self = .log(logID)
    }
}
