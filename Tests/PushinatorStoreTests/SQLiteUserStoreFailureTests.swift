import Logging
import PushinatorKit
import PushinatorSQLite
import SQLiteNIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the SQLite store does with files it cannot use, and with writes that fail at run time.
@Suite struct SQLiteUserStoreFailureTests {
    private func open(_ path: String) async throws(UserStoreError) -> SQLiteUserStore {
        try await SQLiteUserStore.open(path: path, busyTimeoutMilliseconds: 100, logger: Logger(label: "test"))
    }

    @Test func aMissingFolderIsAClearError() async throws {
        let error = await #expect(throws: UserStoreError.self) {
            try await open("/tmp/pushinator-no-such-folder-\(getpid())/users.db")
        }
        #expect(error?.message.contains("cannot open the user store /tmp/pushinator-no-such-folder") == true)
        #expect(error?.message.contains("its folder must exist") == true, "\(String(describing: error))")
    }

    @Test func aFileThatIsNotADatabaseIsAClearErrorAndIsLeftAlone() async throws {
        let fixture = StoreFixture.make(.sqlite)
        defer { fixture.remove() }
        let garbage = Array(repeating: Array("this is not an SQLite database\n".utf8), count: 200).flatMap { $0 }
        FileBytes.write(fixture.path, garbage)
        let error = await #expect(throws: UserStoreError.self) { try await open(fixture.path) }
        #expect(error?.message.contains("not an SQLite database") == true, "\(String(describing: error))")
        #expect(FileBytes.read(fixture.path) == garbage)
    }

    @Test func aLockedFileIsAClearError() async throws {
        let fixture = StoreFixture.make(.sqlite)
        defer { fixture.remove() }
        let holder = try await SQLiteConnection.open(storage: .file(path: fixture.path))
        _ = try await holder.query("CREATE TABLE other (x)", [])
        _ = try await holder.query("BEGIN EXCLUSIVE", [])
        _ = try await holder.query("INSERT INTO other VALUES (1)", [])
        let error = await #expect(throws: UserStoreError.self) { try await open(fixture.path) }
        #expect(error?.message.contains("locked by another process") == true, "\(String(describing: error))")
        _ = try await holder.query("ROLLBACK", [])
        try await holder.close()
        let store = try await open(fixture.path)  // usable once the lock is gone
        await store.close()
    }

    @Test func aWriteThatFailsAtRunTimeThrowsAndKeepsWhatWasStored() async throws {
        let fixture = StoreFixture.make(.sqlite)
        defer { fixture.remove() }
        let store = try await open(fixture.path)
        try await store.register("kept", hash: "1")
        let holder = try await SQLiteConnection.open(storage: .file(path: fixture.path))
        _ = try await holder.query("PRAGMA busy_timeout = 2000", [])
        _ = try await holder.query("BEGIN IMMEDIATE", [])
        let error = await #expect(throws: UserStoreError.self) { try await store.register("new", hash: "2") }
        #expect(error?.message.contains("locked by another process") == true, "\(String(describing: error))")
        #expect(!store.contains("new"))
        let queued = store.enqueue("m", for: ["kept"], now: WallClock.milliseconds())
        #expect(queued.userIDs == ["kept"])
        await #expect(throws: UserStoreError.self) { try await queued.durable() }
        #expect(store.queueStatistics.messages == 0)  // taken out again: the backend was told it failed
        _ = try await holder.query("ROLLBACK", [])
        try await holder.close()
        try await store.register("new", hash: "2")
        #expect(store.verify("kept", hash: "1") && store.verify("new", hash: "2"))
        await store.close()
        let reopened = try await open(fixture.path)
        #expect(reopened.userIDs == ["kept", "new"])
        await reopened.close()
    }
}
