import EngineIO
import PushinatorJSON

/// Where a namespace keeps, while connection state recovery is on, the events it broadcasts and the sessions of
/// sockets whose connection dropped, until their clients come back.
///
/// The namespace's adapter calls ``append(_:)`` once per buffered broadcast, under its own lock, and
/// ``packets(after:matching:)`` when a client comes back, so that no event is both replayed and delivered live:
/// neither may block on I/O (a store that writes elsewhere writes behind). Every store is bounded; what it
/// drops is counted in ``statistics``.
///
/// ```swift
/// let recovery = ConnectionStateRecovery(makeStore: { _, recovery in InMemorySessionStore(limits: .init(recovery)) })
/// ```
public protocol SessionStore: Sendable {
    /// Keeps a broadcast event (its sequence number is one more than the previous one's).
    func append(_ packet: RecordedPacket)
    /// The events after sequence number `sequence` that a socket in `rooms` would have received, oldest first;
    /// `nil` when some of them are no longer kept (the client cannot be recovered).
    func packets(after sequence: UInt64, matching rooms: Set<String>) -> [RecordedPacket]?
    /// Keeps the session of a socket whose connection dropped.
    func save(_ session: PersistedSession)
    /// Removes and returns the session with private id `pid`, unless it is unknown or expired.
    func take(pid: String) -> PersistedSession?
    /// What the store holds and what it dropped.
    var statistics: SessionStoreStatistics { get }
    /// Whether a kept session may be in one of `rooms` (any kept session when `rooms` is empty, a broadcast to
    /// everyone): when no socket receives a broadcast live and this is `false`, nobody can miss it and the adapter
    /// does not record it. Answering `true` is always safe (the default: every broadcast is recorded).
    func mayHoldSession(in rooms: Set<String>) -> Bool
}

extension SessionStore {
    public func mayHoldSession(in rooms: Set<String>) -> Bool { true }
}
