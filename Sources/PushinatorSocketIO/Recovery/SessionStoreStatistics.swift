import EngineIO
import PushinatorJSON

/// Counters of a ``SessionStore``, for metrics.
public struct SessionStoreStatistics: Sendable, Equatable {
    /// Events kept now.
    public var packets = 0
    /// Disconnected sessions kept now.
    public var sessions = 0
    /// Bytes kept now (events and sessions).
    public var bytes = 0
    /// Events dropped before their time because a count, byte or memory limit was reached.
    public var droppedPackets = 0
    /// Sessions dropped before their time because a count, byte or memory limit was reached.
    public var droppedSessions = 0
    /// Events and sessions removed because they were older than the maximum disconnection duration.
    public var expired = 0
    /// Sockets taken back by connection state recovery (counted by the namespace, not the store).
    public var recovered = 0
    /// CONNECTs that asked for a session back and got a fresh one: unknown or expired, missed events dropped, or
    /// refused by an `allowRecovery` check (counted by the namespace, not the store).
    public var refused = 0

    /// Creates counters, all zero by default.
    public init(
        packets: Int = 0,
        sessions: Int = 0,
        bytes: Int = 0,
        droppedPackets: Int = 0,
        droppedSessions: Int = 0,
        expired: Int = 0,
        recovered: Int = 0,
        refused: Int = 0
    ) {
        self.packets = packets
        self.sessions = sessions
        self.bytes = bytes
        self.droppedPackets = droppedPackets
        self.droppedSessions = droppedSessions
        self.expired = expired
        self.recovered = recovered
        self.refused = refused
    }

    /// Adds `other`'s counters to these (to sum the namespaces of a server).
    public static func + (lhs: Self, rhs: Self) -> Self {
        Self(
            packets: lhs.packets + rhs.packets,
            sessions: lhs.sessions + rhs.sessions,
            bytes: lhs.bytes + rhs.bytes,
            droppedPackets: lhs.droppedPackets + rhs.droppedPackets,
            droppedSessions: lhs.droppedSessions + rhs.droppedSessions,
            expired: lhs.expired + rhs.expired,
            recovered: lhs.recovered + rhs.recovered,
            refused: lhs.refused + rhs.refused
        )
    }
}
