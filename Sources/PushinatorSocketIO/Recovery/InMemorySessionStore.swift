import NIOCore
public import PushinatorHTTP
import Synchronization

/// The default ``SessionStore``: events and sessions in memory, behind one lock, bounded by age, count and bytes.
///
/// Every byte kept is also charged to a process-wide ``MemoryBudget`` (``MemoryBudget/shared`` by default). When a
/// limit is reached, or the budget refuses, the oldest events (then the oldest sessions) go first and are counted
/// in ``statistics``. A client whose missed events were dropped that way is not recovered: it gets a fresh session,
/// never a partial replay.
public final class InMemorySessionStore: SessionStore {
    /// The bounds of an ``InMemorySessionStore``.
    public struct Limits: Sendable {
        /// How long events and sessions are kept.
        public var maxDisconnectionDuration: Duration
        /// The most events kept.
        public var maxPackets: Int
        /// The most bytes kept (events and sessions together).
        public var maxBytes: Int
        /// The most sessions kept.
        public var maxSessions: Int

        /// Creates limits.
        public init(maxDisconnectionDuration: Duration, maxPackets: Int, maxBytes: Int, maxSessions: Int) {
            self.maxDisconnectionDuration = maxDisconnectionDuration
            self.maxPackets = max(0, maxPackets)
            self.maxBytes = max(0, maxBytes)
            self.maxSessions = max(0, maxSessions)
        }

        /// The limits of a ``ConnectionStateRecovery`` setting.
        public init(_ recovery: ConnectionStateRecovery) {
            self.init(
                maxDisconnectionDuration: recovery.maxDisconnectionDuration,
                maxPackets: recovery.maxPackets,
                maxBytes: recovery.maxBytes,
                maxSessions: recovery.maxSessions
            )
        }
    }

    private struct State {
        var packets = CircularBuffer<RecordedPacket>()
        var sessions: [String: PersistedSession] = [:]
        /// How many kept sessions are in each room (for ``mayHoldSession(in:)``).
        var sessionsInRoom: [String: Int] = [:]
        /// Saved sessions in the order they were saved (entries of sessions taken since are skipped).
        var order = CircularBuffer<(pid: String, disconnectedAt: ContinuousClock.Instant)>()
        /// The highest sequence number dropped by a limit: clients that missed it cannot be recovered.
        var droppedThrough: UInt64 = 0
        var statistics = SessionStoreStatistics()
    }

    /// The limits.
    public let limits: Limits
    private let budget: MemoryBudget
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())

    /// Creates an empty store.
    /// - Parameters:
    ///   - limits: The bounds.
    ///   - budget: The process-wide budget the kept bytes are charged to.
    ///   - now: The clock (tests pass their own).
    public init(
        limits: Limits,
        budget: MemoryBudget = .shared,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.limits = limits
        self.budget = budget
        self.now = now
    }

    deinit {
        budget.release(state.withLock { $0.statistics.bytes })
    }

    public func append(_ packet: RecordedPacket) {
        state.withLock { state in
            expire(&state, now: packet.time)
            while !budget.tryReserve(packet.byteCount, for: .recoveryBuffer) {
                guard !state.packets.isEmpty else { return dropRefused(&state, packet) }
                state.droppedThrough = removeOldestPacket(&state)
                state.statistics.droppedPackets += 1
            }
            state.packets.append(packet)
            state.statistics.packets += 1
            state.statistics.bytes += packet.byteCount
            enforceLimits(&state)
        }
    }

    /// The budget refused even with nothing else kept: the packet itself is dropped, so nobody who missed it can be
    /// recovered.
    private func dropRefused(_ state: inout State, _ packet: RecordedPacket) {
        state.droppedThrough = packet.sequence
        state.statistics.droppedPackets += 1
    }

    public func packets(after sequence: UInt64, matching rooms: Set<String>) -> [RecordedPacket]? {
        state.withLock { state in
            expire(&state, now: now())
            guard state.droppedThrough <= sequence else { return nil }
            guard let first = state.packets.first else { return [] }
            var index = sequence >= first.sequence ? Int(sequence - first.sequence) + 1 : 0
            var missed: [RecordedPacket] = []
            while index < state.packets.count {
                let packet = state.packets[state.packets.index(state.packets.startIndex, offsetBy: index)]
                if packet.sequence > sequence, packet.reaches(rooms) { missed.append(packet) }
                index += 1
            }
            return missed
        }
    }

    public func save(_ session: PersistedSession) {
        state.withLock { state in
            guard budget.tryReserve(session.byteCount, for: .recoveryBuffer) else {
                state.statistics.droppedSessions += 1
                return
            }
            if let replaced = state.sessions.updateValue(session, forKey: session.pid) {
                state.statistics.bytes -= replaced.byteCount
                budget.release(replaced.byteCount)
                Self.count(replaced, by: -1, in: &state)
            } else {
                state.statistics.sessions += 1
            }
            Self.count(session, by: 1, in: &state)
            state.statistics.bytes += session.byteCount
            state.order.append((session.pid, session.disconnectedAt))
            expire(&state, now: now())
            enforceLimits(&state)
            if state.order.count > 2 * state.sessions.count + 64 { compactOrder(&state) }
        }
    }

    public func take(pid: String) -> PersistedSession? {
        state.withLock { state in
            expire(&state, now: now())
            guard let session = state.sessions.removeValue(forKey: pid) else { return nil }
            Self.count(session, by: -1, in: &state)
            state.statistics.sessions -= 1
            state.statistics.bytes -= session.byteCount
            budget.release(session.byteCount)
            return session
        }
    }

    public var statistics: SessionStoreStatistics { state.withLock { $0.statistics } }

    public func mayHoldSession(in rooms: Set<String>) -> Bool {
        state.withLock { state in
            if state.sessions.isEmpty { return false }
            if rooms.isEmpty { return true }
            return rooms.contains { state.sessionsInRoom[$0] != nil }
        }
    }

    private static func count(_ session: PersistedSession, by delta: Int, in state: inout State) {
        for room in session.rooms {
            let count = (state.sessionsInRoom[room] ?? 0) + delta
            state.sessionsInRoom[room] = count > 0 ? count : nil
        }
    }

    // MARK: Bounds

    private func expire(_ state: inout State, now: ContinuousClock.Instant) {
        let threshold = now - limits.maxDisconnectionDuration
        while let first = state.packets.first, first.time < threshold {
            removeOldestPacket(&state)
            state.statistics.expired += 1
        }
        while let first = state.order.first, first.disconnectedAt < threshold {
            if removeOldestSession(&state) { state.statistics.expired += 1 }
        }
    }

    private func enforceLimits(_ state: inout State) {
        while state.statistics.packets > limits.maxPackets
            || (state.statistics.bytes > limits.maxBytes && !state.packets.isEmpty)
        {
            state.droppedThrough = removeOldestPacket(&state)
            state.statistics.droppedPackets += 1
        }
        while state.statistics.sessions > limits.maxSessions || state.statistics.bytes > limits.maxBytes,
            !state.order.isEmpty
        {
            if removeOldestSession(&state) { state.statistics.droppedSessions += 1 }
        }
    }

    @discardableResult
    private func removeOldestPacket(_ state: inout State) -> UInt64 {
        let packet = state.packets.removeFirst()
        state.statistics.packets -= 1
        state.statistics.bytes -= packet.byteCount
        budget.release(packet.byteCount)
        return packet.sequence
    }

    /// Removes the session of the oldest entry of the save order, if it is still the one saved then.
    private func removeOldestSession(_ state: inout State) -> Bool {
        let entry = state.order.removeFirst()
        guard let session = state.sessions[entry.pid], session.disconnectedAt == entry.disconnectedAt else {
            return false
        }
        state.sessions[entry.pid] = nil
        Self.count(session, by: -1, in: &state)
        state.statistics.sessions -= 1
        state.statistics.bytes -= session.byteCount
        budget.release(session.byteCount)
        return true
    }

    private func compactOrder(_ state: inout State) {
        var kept = CircularBuffer<(pid: String, disconnectedAt: ContinuousClock.Instant)>(
            initialCapacity: state.sessions.count
        )
        for entry in state.order where state.sessions[entry.pid]?.disconnectedAt == entry.disconnectedAt {
            kept.append(entry)
        }
        state.order = kept
    }
}
