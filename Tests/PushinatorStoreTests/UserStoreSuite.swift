import Logging
import PushinatorKit
import PushinatorSQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The stores the generic suite runs against (a PostgreSQL store joins here).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory, sqlite

    var testDescription: String { rawValue }
    var isDurable: Bool { self != .memory }
}

/// A store under test in a folder of its own, reopened as a restart would.
struct StoreFixture: Sendable {
    let kind: StoreKind
    let folder: String
    var path: String { folder + "/users.db" }

    static func make(_ kind: StoreKind) -> StoreFixture {
        var template = Array("/tmp/pushinator-store-XXXXXX".utf8CString)
        let folder = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return StoreFixture(kind: kind, folder: folder)
    }

    func open(limits: OfflineQueue.Limits = .init(), now: Int64 = 1_000_000) async throws -> any UserStore {
        switch kind {
        case .memory: MemoryUserStore(queueLimits: limits)
        case .sqlite: try await SQLiteUserStore.open(path: path, queueLimits: limits, logger: Logger(label: "test"), now: now)
        }
    }

    func remove() {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        rmdir(folder)
    }
}

/// One behaviour per test, run against every ``StoreKind``.
@Suite struct UserStoreSuite {
    @Test(arguments: StoreKind.allCases)
    func verifiesTheRegisteredHashOnly(kind: StoreKind) async throws {
        let fixture = StoreFixture.make(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        try await store.register("5", hash: "xxx1234")
        #expect(store.verify("5", hash: "xxx1234"))
        #expect(!store.verify("5", hash: "xxx123"))
        #expect(!store.verify("5", hash: "xxx12345"))
        #expect(!store.verify("6", hash: "xxx1234"))
        #expect(store.contains("5") && !store.contains("6"))
        await store.close()
    }

    @Test(arguments: StoreKind.allCases)
    func aSecondRegistrationReplacesTheHash(kind: StoreKind) async throws {
        let fixture = StoreFixture.make(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        try await store.register("5", hash: "old")
        try await store.register("5", hash: "new")
        #expect(store.verify("5", hash: "new"))
        #expect(!store.verify("5", hash: "old"))
        #expect(store.count == 1)
        await store.close()
    }

    @Test(arguments: StoreKind.allCases)
    func unregisterReportsWhoWasRegisteredAndDropsTheirQueue(kind: StoreKind) async throws {
        let fixture = StoreFixture.make(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        try await store.register("b", hash: "1")
        try await store.register("a", hash: "2")
        try await store.enqueue("\"hi\"", for: ["a"], now: 1_000_000).durable()
        #expect(store.userIDs == ["a", "b"])
        #expect(try await store.unregister(["a", "nobody"]) == ["a"])
        #expect(try await !store.unregister("a"))
        #expect(store.userIDs == ["b"])
        #expect(store.queueStatistics.messages == 0)
        try await store.register("a", hash: "2")
        #expect(store.take(for: "a", now: 1_000_000).isEmpty)
        await store.close()
    }

    @Test(arguments: StoreKind.allCases)
    func queuesOnlyForRegisteredUsersAndHandsThemOverInOrderOnce(kind: StoreKind) async throws {
        let fixture = StoreFixture.make(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        try await store.register("a", hash: "1")
        try await store.register("b", hash: "1")
        for number in 1...5 {
            let write = store.enqueue("\(number)", for: ["a", "ghost", "b", "a"], now: 1_000_000 + Int64(number))
            #expect(write.userIDs == ["a", "b"])
            try await write.durable()
        }
        #expect(store.take(for: "a", now: 1_000_010).map(\.message) == ["1", "2", "3", "4", "5"])
        #expect(store.take(for: "a", now: 1_000_010).isEmpty)
        #expect(store.queueStatistics.messages == 5)
        #expect(store.take(for: "b", now: 1_000_010).count == 5)
        await store.close()
    }

    @Test(arguments: StoreKind.allCases)
    func theQueueKeepsItsLimits(kind: StoreKind) async throws {
        let fixture = StoreFixture.make(kind)
        defer { fixture.remove() }
        let store = try await fixture.open(limits: .init(maxPerUser: 3, ttlMilliseconds: 1_000, maxBytes: 1 << 20))
        try await store.register("a", hash: "1")
        for number in 1...5 { try await store.enqueue("\(number)", for: ["a"], now: 1_000_000).durable() }
        #expect(store.queueStatistics.dropped == 2)
        #expect(store.take(for: "a", now: 1_000_500).map(\.message) == ["3", "4", "5"])
        try await store.enqueue("late", for: ["a"], now: 1_000_000).durable()
        #expect(store.take(for: "a", now: 1_001_000).isEmpty)
        #expect(store.queueStatistics.expired == 1)
        store.setQueueLimits(.off)
        #expect(store.enqueue("off", for: ["a"], now: 1_001_000).userIDs.isEmpty)
        await store.close()
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentRegistrationsAllLand(kind: StoreKind) async throws {
        let fixture = StoreFixture.make(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<500 { group.addTask { try await store.register("u\(number)", hash: "h\(number)") } }
            try await group.waitForAll()
        }
        #expect(store.count == 500)
        #expect(store.verify("u499", hash: "h499"))
        await store.close()
        if kind.isDurable {
            let reopened = try await fixture.open()
            #expect(reopened.count == 500)
            #expect(reopened.verify("u0", hash: "h0"))
            await reopened.close()
        }
    }

    @Test(arguments: StoreKind.allCases.filter(\.isDurable))
    func usersAndQueuesSurviveAReopen(kind: StoreKind) async throws {
        let fixture = StoreFixture.make(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        try await store.register("5", hash: "xxx1234")
        try await store.register("6", hash: "gone")
        _ = try await store.unregister(["6"])
        for number in 1...3 { try await store.enqueue("{\"n\":\(number)}", for: ["5"], now: 1_000_000).durable() }
        await store.close()

        let reopened = try await fixture.open(now: 1_000_100)
        #expect(reopened.verify("5", hash: "xxx1234"))
        #expect(!reopened.contains("6"))
        #expect(reopened.take(for: "5", now: 1_000_100).map(\.message) == ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"])
        try await reopened.enqueue("after", for: ["5"], now: 1_000_100).durable()
        await reopened.close()

        let again = try await fixture.open(now: 1_000_200)
        #expect(again.take(for: "5", now: 1_000_200).map(\.message) == ["after"])  // delivered ones stay delivered
        await again.close()
    }

    @Test(arguments: StoreKind.allCases.filter(\.isDurable))
    func expiredMessagesAreDroppedOnReopen(kind: StoreKind) async throws {
        let fixture = StoreFixture.make(kind)
        defer { fixture.remove() }
        let store = try await fixture.open(limits: .init(maxPerUser: 10, ttlMilliseconds: 1_000, maxBytes: 1 << 20))
        try await store.register("5", hash: "h")
        try await store.enqueue("old", for: ["5"], now: 1_000_000).durable()
        try await store.enqueue("new", for: ["5"], now: 1_000_900).durable()
        await store.close()
        let reopened = try await fixture.open(limits: .init(maxPerUser: 10, ttlMilliseconds: 1_000, maxBytes: 1 << 20), now: 1_001_000)
        #expect(reopened.queueStatistics.messages == 1)
        #expect(reopened.take(for: "5", now: 1_001_000).map(\.message) == ["new"])
        await reopened.close()
    }

    @Test(arguments: StoreKind.allCases.filter(\.isDurable))
    func theFileHoldsDigestsNotHashes(kind: StoreKind) async throws {
        let fixture = StoreFixture.make(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        let hash = "a-very-recognizable-secret-hash"
        try await store.register("5", hash: hash)
        await store.close()
        var bytes: [UInt8] = []
        for suffix in ["", "-wal"] { bytes += FileBytes.read(fixture.path + suffix) }
        #expect(!bytes.isEmpty)
        #expect(!FileBytes.contains(bytes, Array(hash.utf8)))
        #expect(FileBytes.contains(bytes, HashDigest(of: hash).bytes))
    }
}

/// Reading a whole file without Foundation.
enum FileBytes {
    static func read(_ path: String) -> [UInt8] {
        guard let file = fopen(path, "rb") else { return [] }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        guard let file = fopen(path, "wb") else { return }
        _ = fwrite(bytes, 1, bytes.count, file)
        fclose(file)
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, !needle.isEmpty else { return needle.isEmpty }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
