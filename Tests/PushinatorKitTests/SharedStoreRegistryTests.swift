import PushinatorKit
import Synchronization
import Testing

/// A store that says it is shared by the nodes of a cluster (as `PostgresUserStore` does), over memory, recording
/// which of the shared-store calls the registry makes.
final class RecordingSharedStore: UserStore {
    let memory = MemoryUserStore()
    let calls = Mutex<[String]>([])

    private func record(_ call: String) { calls.withLock { $0.append(call) } }

    var isShared: Bool { true }
    func verify(_ userID: String, digest: HashDigest) -> Bool { memory.verify(userID, digest: digest) }
    func contains(_ userID: String) -> Bool { memory.contains(userID) }
    var userIDs: [String] { memory.userIDs }
    var count: Int { memory.count }
    func register(_ userID: String, digest: HashDigest) async throws(UserStoreError) {
        record("register \(userID)")
        try await memory.register(userID, digest: digest)
    }
    func unregister(_ userIDs: [String]) async throws(UserStoreError) -> [String] {
        record("unregister \(userIDs)")
        return try await memory.unregister(userIDs)
    }
    func cacheRegistration(_ userID: String, digest: HashDigest) {
        record("cache \(userID)")
        Task { try? await memory.register(userID, digest: digest) }
    }
    func cacheUnregistration(_ userIDs: [String]) { record("uncache \(userIDs)") }
    func expireIdle(_ candidates: [String], connected: [String], timeout: Duration) async throws(UserStoreError) -> [String] {
        record("expire \(candidates.sorted()) connected \(connected.sorted())")
        return []
    }
    func enqueue(_ message: String, for userIDs: [String], now: Int64) -> QueueWrite { memory.enqueue(message, for: userIDs, now: now) }
    func take(for userID: String, now: Int64) -> [QueuedMessage] { memory.take(for: userID, now: now) }
    func expireQueued(now: Int64) {}
    var queueStatistics: OfflineQueue.Statistics { memory.queueStatistics }
    func setQueueLimits(_ limits: OfflineQueue.Limits) {}
    func close() async {}
}

@Suite("UserRegistry on a shared store")
struct SharedStoreRegistryTests {
    @Test func anotherNodesRegistrationsOnlyUpdateMemory() async throws {
        let store = RecordingSharedStore()
        let users = UserRegistry(store: store)
        try await users.registerReplica("a", digest: HashDigest(of: "h"))
        try await users.unregisterReplica("b")
        try await users.register("c", hash: "h")
        #expect(store.calls.withLock { $0 } == ["cache a", "uncache [\"b\"]", "register c"])
    }

    @Test func idleExpiryTellsTheStoreWhoIsConnectedHere() async throws {
        let store = RecordingSharedStore()
        let users = UserRegistry(store: store)
        try await users.register("idle", hash: "h")
        try await users.register("busy", hash: "h")
        users.connectionOpened("busy")
        _ = try await users.expireIdle(after: .seconds(60), now: ContinuousClock.now + .seconds(120))
        #expect(store.calls.withLock { $0.last } == "expire [\"idle\"] connected [\"busy\"]")
        // nobody idle here: the connected users are still reported, so no other node expires them
        try await users.unregister("idle")
        _ = try await users.expireIdle(after: .seconds(60), now: .now)
        #expect(store.calls.withLock { $0.last } == "expire [] connected [\"busy\"]")
    }

    @Test func aStoreOfOneNodeKeepsTheDefaults() async throws {
        let store = MemoryUserStore()
        #expect(!store.isShared)
        try await store.register("u", hash: "h")
        store.cacheRegistration("v", digest: HashDigest(of: "h"))  // nothing: memory is the whole store
        #expect(!store.contains("v"))
        #expect(await store.reload("u"))
        _ = store.enqueue("1", for: ["u"], now: 0)
        #expect(try await store.claim(for: "u", now: 0).map(\.message) == ["1"])
        #expect(try await store.expireIdle(["u"], connected: [], timeout: .seconds(1)) == ["u"])
    }
}
