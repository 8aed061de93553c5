@testable import EngineIO
import Logging
import NIOCore
import PushinatorHTTP
import PushinatorJSON
@testable import PushinatorSocketIO
import Synchronization
import Testing

/// A clock the tests move by hand.
final class ManualClock: Sendable {
    private let current = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    func advance(by duration: Duration) { current.withLock { $0 = $0 + duration } }
}

extension RecordedPacket {
    static func make(
        _ sequence: UInt64,
        rooms: Set<String> = [],
        except: Set<String> = [],
        bytes: Int = 10,
        time: ContinuousClock.Instant = .now
    ) -> RecordedPacket {
        RecordedPacket(sequence: sequence, rooms: rooms, except: except, packets: [], byteCount: bytes, time: time)
    }
}

extension PersistedSession {
    static func make(pid: String, rooms: Set<String> = [], base: UInt64 = 0, at time: ContinuousClock.Instant = .now)
        -> PersistedSession
    {
        PersistedSession(
            id: "sid-" + pid,
            pid: pid,
            rooms: rooms.union(["sid-" + pid]),
            data: ["user": 5],
            storage: .empty,
            baseSequence: base,
            disconnectedAt: time
        )
    }
}

@Suite("In-memory session store")
struct InMemorySessionStoreTests {
    static func makeStore(
        duration: Duration = .seconds(60),
        packets: Int = 100,
        bytes: Int = 1 << 20,
        sessions: Int = 100,
        clock: ManualClock = ManualClock(),
        budget: MemoryBudget = MemoryBudget(limit: nil)
    ) -> InMemorySessionStore {
        InMemorySessionStore(
            limits: .init(maxDisconnectionDuration: duration, maxPackets: packets, maxBytes: bytes, maxSessions: sessions),
            budget: budget,
            now: { clock.now }
        )
    }

    @Test func chargesTheMemoryBudgetAndDropsTheOldestWhenItRefuses() throws {
        let budget = MemoryBudget(limit: 250)
        let store = Self.makeStore(budget: budget)
        for sequence in UInt64(1)...3 { store.append(.make(sequence, bytes: 100)) }
        #expect(budget.reserved == 200)
        #expect(store.statistics.droppedPackets == 1)
        #expect(try #require(store.packets(after: 1, matching: [])).map(\.sequence) == [2, 3])
        store.append(.make(4, bytes: 1000))  // can never fit: dropped itself
        #expect(store.statistics.packets == 0 && budget.reserved == 0)
        #expect(store.packets(after: 3, matching: []) == nil)
        store.save(.make(pid: "p1"))
        #expect(budget.reserved > 0)
        _ = store.take(pid: "p1")
        #expect(budget.reserved == 0)
    }

    @Test func replaysOnlyWhatTheRoomsOfTheSessionWouldHaveReceived() throws {
        let store = Self.makeStore()
        store.append(.make(1))  // everyone
        store.append(.make(2, rooms: ["a"]))
        store.append(.make(3, rooms: ["b"]))
        store.append(.make(4, except: ["a"]))
        store.append(.make(5, rooms: ["a", "b"], except: ["x"]))
        let missed = try #require(store.packets(after: 0, matching: ["s1", "a"]))
        #expect(missed.map(\.sequence) == [1, 2, 5])
        #expect(try #require(store.packets(after: 2, matching: ["s1", "a"])).map(\.sequence) == [5])
        #expect(try #require(store.packets(after: 0, matching: ["s2", "x", "b"])).map(\.sequence) == [1, 3, 4])
        #expect(try #require(store.packets(after: 5, matching: ["a"])).isEmpty)
    }

    @Test func theCountLimitDropsTheOldestAndThoseWhoMissedThemAreNotRecovered() throws {
        let store = Self.makeStore(packets: 3)
        for sequence in UInt64(1)...5 { store.append(.make(sequence)) }
        #expect(store.statistics.packets == 3)
        #expect(store.statistics.droppedPackets == 2)
        #expect(store.packets(after: 1, matching: ["s"]) == nil)  // 2 is gone
        #expect(try #require(store.packets(after: 2, matching: ["s"])).map(\.sequence) == [3, 4, 5])
    }

    @Test func theByteLimitDropsTheOldest() throws {
        let store = Self.makeStore(bytes: 250)
        for sequence in UInt64(1)...3 { store.append(.make(sequence, bytes: 100)) }
        #expect(store.statistics.packets == 2)
        #expect(store.statistics.bytes == 200)
        #expect(store.statistics.droppedPackets == 1)
        #expect(store.packets(after: 0, matching: []) == nil)
    }

    @Test func oldEventsExpireWithoutFailingRecoveryAndSessionsExpire() throws {
        let clock = ManualClock()
        let store = Self.makeStore(duration: .seconds(10), clock: clock)
        store.append(.make(1, time: clock.now))
        store.save(.make(pid: "p1", base: 1, at: clock.now))
        clock.advance(by: .seconds(6))
        store.append(.make(2, time: clock.now))
        store.save(.make(pid: "p2", base: 2, at: clock.now))
        clock.advance(by: .seconds(6))  // 1 and p1 are 12 s old, 2 and p2 6 s
        #expect(store.take(pid: "p1") == nil)
        #expect(try #require(store.packets(after: 0, matching: [])).map(\.sequence) == [2])
        #expect(store.statistics.expired == 2)
        let session = try #require(store.take(pid: "p2"))
        #expect(session.id == "sid-p2" && session.data == ["user": 5] && session.baseSequence == 2)
        #expect(store.take(pid: "p2") == nil)  // taken once
        #expect(store.statistics.sessions == 0)
    }

    @Test func theSessionLimitDropsTheOldestSession() {
        let store = Self.makeStore(sessions: 2)
        for pid in ["p1", "p2", "p3"] { store.save(.make(pid: pid)) }
        #expect(store.statistics.sessions == 2)
        #expect(store.statistics.droppedSessions == 1)
        #expect(store.take(pid: "p1") == nil)
        #expect(store.take(pid: "p3") != nil)
    }

    @Test func savingTheSamePidAgainReplacesTheSession() {
        let store = Self.makeStore()
        store.save(.make(pid: "p1", base: 1))
        store.save(.make(pid: "p1", base: 7))
        #expect(store.statistics.sessions == 1)
        #expect(store.take(pid: "p1")?.baseSequence == 7)
        #expect(store.statistics.bytes == 0)
    }
}

@Suite("Session-aware in-memory adapter")
struct SessionAwareAdapterTests {
    static func makeAdapter(packets: Int = 100) -> (InMemoryAdapter, InMemorySessionStore) {
        let store = InMemorySessionStore(
            limits: .init(maxDisconnectionDuration: .seconds(60), maxPackets: packets, maxBytes: 1 << 20, maxSessions: 100)
        )
        return (InMemoryAdapter(store: store), store)
    }

    static func text(of packet: RecordedPacket) -> String {
        guard case .text(let buffer) = packet.packets[0].kind else { return "" }
        return String(buffer: buffer)
    }

    static func event(_ text: String) -> SocketIOPacket { .event("message", [.string(text)]) }

    @Test func recordsBroadcastsWithTheirOffsetAsTheLastArgument() throws {
        let (adapter, store) = Self.makeAdapter()
        adapter.persistSession(.make(pid: "p1", rooms: ["user:5"]))  // someone who may come back for them
        _ = adapter.broadcast(Self.event("one"), to: BroadcastTarget(rooms: ["user:5"]), flags: BroadcastFlags())
        _ = adapter.broadcast(Self.event("two"), to: BroadcastTarget(), flags: BroadcastFlags())
        let recorded = try #require(store.packets(after: 0, matching: ["user:5"]))
        #expect(recorded.map(\.sequence) == [1, 2])
        let offset1 = adapter.offsets.offset(for: 1)
        let offset2 = adapter.offsets.offset(for: 2)
        #expect(Self.text(of: recorded[0]) == #"42["message","one",""# + offset1 + #""]"#)
        #expect(Self.text(of: recorded[1]) == #"42["message","two",""# + offset2 + #""]"#)
        #expect(recorded[0].rooms == ["user:5"])
        #expect(adapter.offsets.sequence(of: offset2) == 2)
        #expect(offset2.utf8.count <= 15)
    }

    @Test func aBroadcastNobodyCanReceiveIsNotRecorded() {
        let (adapter, store) = Self.makeAdapter()
        _ = adapter.broadcast(Self.event("nobody"), to: BroadcastTarget(rooms: ["user:5"]), flags: BroadcastFlags())
        _ = adapter.broadcast(Self.event("nobody"), to: BroadcastTarget(), flags: BroadcastFlags())
        #expect(store.statistics.packets == 0)
        adapter.persistSession(.make(pid: "p1", rooms: ["user:5"]))
        _ = adapter.broadcast(Self.event("other room"), to: BroadcastTarget(rooms: ["user:6"]), flags: BroadcastFlags())
        #expect(store.statistics.packets == 0)
        _ = adapter.broadcast(Self.event("its room"), to: BroadcastTarget(rooms: ["user:5", "user:6"]), flags: BroadcastFlags())
        _ = adapter.broadcast(Self.event("everyone"), to: BroadcastTarget(), flags: BroadcastFlags())
        #expect(store.statistics.packets == 2)
        #expect(store.mayHoldSession(in: ["user:5"]) && !store.mayHoldSession(in: ["user:6"]))
    }

    @Test func aSessionOnItsWayBackKeepsBroadcastsRecorded() async throws {
        let (adapter, store) = Self.makeAdapter()
        adapter.persistSession(.make(pid: "p1", rooms: ["user:5"]))
        let restored = try #require(await adapter.restoreSession(pid: "p1", offset: nil))
        #expect(!store.mayHoldSession(in: ["user:5"]))  // out of the store, not in a room yet
        withExtendedLifetime(restored) {
            _ = adapter.broadcast(Self.event("in transit"), to: BroadcastTarget(rooms: ["user:5"]), flags: BroadcastFlags())
            #expect(store.statistics.packets == 1)
        }
        restored.claim?.settle()  // as adding its socket does (or giving the restoration up)
        _ = adapter.broadcast(Self.event("gone"), to: BroadcastTarget(rooms: ["user:5"]), flags: BroadcastFlags())
        #expect(store.statistics.packets == 1)
        #expect(adapter.restorations.isIdle)
    }

    @Test func volatileEventsAndEventsWithAcksAreNotRecorded() throws {
        let (adapter, store) = Self.makeAdapter()
        _ = adapter.broadcast(Self.event("v"), to: BroadcastTarget(), flags: BroadcastFlags(volatile: true))
        _ = adapter.broadcast(.event("a", [], ackID: 3), to: BroadcastTarget(), flags: BroadcastFlags())
        #expect(store.statistics.packets == 0)
    }

    @Test func withoutAStoreNothingIsRecordedOrRestored() async {
        let adapter = InMemoryAdapter()
        #expect(adapter.broadcast(Self.event("x"), to: BroadcastTarget(), flags: BroadcastFlags()) == 0)
        #expect(await adapter.restoreSession(pid: "p", offset: nil) == nil)
    }

    @Test func restoresAfterTheClientsOffset() async throws {
        let (adapter, _) = Self.makeAdapter()
        adapter.persistSession(.make(pid: "p1", rooms: ["user:5"], base: 0))
        for text in ["1", "2", "3"] { _ = adapter.broadcast(Self.event(text), to: BroadcastTarget(), flags: BroadcastFlags()) }
        let restored = try #require(await adapter.restoreSession(pid: "p1", offset: adapter.offsets.offset(for: 1)))
        #expect(restored.replayAfter == 1)
        #expect(restored.session.id == "sid-p1")
        #expect(await adapter.restoreSession(pid: "p1", offset: adapter.offsets.offset(for: 1)) == nil)  // once
    }

    @Test func aPidWithoutAnOffsetReplaysEverythingSinceTheSessionStarted() async throws {
        let (adapter, _) = Self.makeAdapter()
        adapter.persistSession(.make(pid: "p0"))  // an earlier session: broadcasts to everyone are recorded
        _ = adapter.broadcast(Self.event("before"), to: BroadcastTarget(), flags: BroadcastFlags())  // sequence 1
        adapter.persistSession(.make(pid: "p1", base: 1))
        _ = adapter.broadcast(Self.event("after"), to: BroadcastTarget(), flags: BroadcastFlags())
        let restored = try #require(await adapter.restoreSession(pid: "p1", offset: nil))
        #expect(restored.replayAfter == 1)
    }

    @Test func anOffsetBeforeTheSessionStartedDoesNotReplayOlderEvents() async throws {
        let (adapter, _) = Self.makeAdapter()
        adapter.persistSession(.make(pid: "p0"))  // an earlier session: broadcasts to everyone are recorded
        for _ in 0..<3 { _ = adapter.broadcast(Self.event("x"), to: BroadcastTarget(), flags: BroadcastFlags()) }
        adapter.persistSession(.make(pid: "p1", base: 3))
        let restored = try #require(await adapter.restoreSession(pid: "p1", offset: adapter.offsets.offset(for: 1)))
        #expect(restored.replayAfter == 3)
    }

    @Test(arguments: ["", "zzzz1", "not an offset"])
    func anUnknownOffsetGivesAFreshSession(offset: String) async {
        let (adapter, _) = Self.makeAdapter()
        _ = adapter.broadcast(Self.event("x"), to: BroadcastTarget(), flags: BroadcastFlags())
        adapter.persistSession(.make(pid: "p1"))
        #expect(await adapter.restoreSession(pid: "p1", offset: offset) == nil)
    }

    @Test func aClientThatMissedDroppedEventsGetsAFreshSession() async {
        let (adapter, store) = Self.makeAdapter(packets: 2)
        adapter.persistSession(.make(pid: "p1", base: 0))
        for _ in 0..<3 { _ = adapter.broadcast(Self.event("x"), to: BroadcastTarget(), flags: BroadcastFlags()) }
        #expect(store.statistics.droppedPackets == 1)
        #expect(await adapter.restoreSession(pid: "p1", offset: nil) == nil)
    }

    @Test func anUnknownPidGivesAFreshSession() async {
        let (adapter, _) = Self.makeAdapter()
        #expect(await adapter.restoreSession(pid: "nobody", offset: nil) == nil)
    }
}

@Suite("Recovery requests")
struct RecoveryRequestTests {
    static func makeNamespace(recovery: Bool) -> Namespace {
        var configuration = SocketIOConfiguration()
        if recovery { configuration = configuration.connectionStateRecovery() }
        return Namespace(
            name: "/",
            configuration: configuration,
            makeAdapter: { InMemoryAdapter(context: $0) },
            logger: .init(label: "test")
        )
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let auth: JSONValue
        var legacy = false
        let expected: RecoveryRequest
        var testDescription: String { "\(auth) legacy: \(legacy)" }
    }

    @Test(arguments: [
        Case(auth: .object([:]), expected: .fresh),
        Case(auth: ["token": "x"], expected: .fresh),
        Case(auth: ["pid": "p1", "offset": "abc1"], expected: .restore(pid: "p1", offset: "abc1")),
        Case(auth: ["pid": "p1"], expected: .restore(pid: "p1", offset: nil)),
        Case(auth: ["pid": "p1", "offset": "abc1", "recovery": false], expected: .off),
        Case(auth: ["recovery": false], expected: .off),
        Case(auth: ["recovery": true], expected: .fresh),
        Case(auth: ["pid": 5], expected: .fresh),
        Case(auth: ["pid": "p1", "offset": "abc1"], legacy: true, expected: .off),
    ])
    func readsTheConnectPayload(_ test: Case) {
        #expect(Self.makeNamespace(recovery: true).recoveryRequest(auth: test.auth, legacyProtocol: test.legacy) == test.expected)
    }

    @Test func isOffByDefault() {
        let namespace = Self.makeNamespace(recovery: false)
        #expect(namespace.recoveryRequest(auth: ["pid": "p1"], legacyProtocol: false) == .off)
        #expect(namespace.recoveryStatistics == nil)
        #expect(SocketIOConfiguration().recovery == nil)
    }
}
