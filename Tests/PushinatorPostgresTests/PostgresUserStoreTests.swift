import PostgresNIO
import PushinatorKit
@testable import PushinatorPostgres
import Testing

/// Two stores (two nodes) on the throwaway PostgreSQL, each test on tables of its own.
@Suite("PostgreSQL user store", .serialized, .enabled(if: TestDatabase.available, "needs PUSHINATOR_TEST_POSTGRES_URL (scripts/with-postgres.sh)"))
struct PostgresUserStoreTests {
    static func schema() -> PostgresUserSchema {
        let suffix = UInt32.random(in: 0...UInt32.max)
        return PostgresUserSchema(usersTable: "t_users_\(suffix)", queueTable: "t_queue_\(suffix)", schemaTable: "t_schema_\(suffix)")
    }

    static func open(_ schema: PostgresUserSchema, limits: OfflineQueue.Limits = .init()) async throws -> PostgresUserStore {
        try await PostgresUserStore.open(url: try PostgresURL(TestDatabase.url!), schema: schema, queueLimits: limits, logger: TestDatabase.logger)
    }

    @Test func aStoreOpenedLaterKnowsTheRegistrationsAndReadsNewOnesOnAMiss() async throws {
        let schema = Self.schema()
        let first = try await Self.open(schema)
        try await first.register("1", hash: "secret")
        let second = try await Self.open(schema)  // the schema is there: opening again changes nothing
        #expect(second.verify("1", hash: "secret"))
        #expect(!second.verify("1", hash: "other"))
        try await first.register("2", hash: "two")
        #expect(!second.contains("2"))
        #expect(await second.reload("2"))
        #expect(second.verify("2", hash: "two"))
        #expect(await !second.reload("3"))
        #expect(try await first.unregister(["1", "3"]) == ["1"])
        second.cacheUnregistration(["1"])
        #expect(second.userIDs == ["2"])
        let rows = try await TestDatabase.execute(PostgresQuery(unsafeSQL: "SELECT version FROM \(schema.schemaTable)"))
        #expect(try rows.map { try $0.decode(Int32.self) } == [1])
        await first.close()
        await second.close()
    }

    @Test func theStartUpReadTakesEveryUserPageByPage() async throws {
        let schema = Self.schema()
        let store = try await Self.open(schema)
        let ids = ["a", "b", "c", "d", "e", "ü"]
        for id in ids { try await store.register(id, hash: "h" + id) }
        var statements = PostgresUserStatements(schema: schema)
        statements.loadPageSize = 2
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresURL(TestDatabase.url!).connectionConfiguration(), id: 98, logger: TestDatabase.logger)
        let users = try await PostgresUserStore.loadUsers(on: connection, statements: statements, logger: TestDatabase.logger)
        try await connection.close()
        #expect(users.count == ids.count)
        #expect(ids.allSatisfy { users[$0] == HashDigest(of: "h" + $0) })
        await store.close()
    }

    @Test func aQueueIsTakenOnceInOrderAcrossStores() async throws {
        let schema = Self.schema()
        let first = try await Self.open(schema, limits: .init(maxPerUser: 3, ttlMilliseconds: 60_000))
        let second = try await Self.open(schema)
        try await first.register("u", hash: "h")
        second.cacheRegistration("u", digest: HashDigest(of: "h"))
        for number in 1...5 {
            let write = first.enqueue("\(number)", for: ["u", "unknown"], now: 1_000)
            #expect(write.userIDs == ["u"])
            try await write.durable()
        }
        #expect(first.queueStatistics.dropped == 2)  // max 3 per user: the two oldest went
        async let one = first.claim(for: "u", now: 2_000)
        async let two = second.claim(for: "u", now: 2_000)
        let (a, b) = try await (one, two)
        #expect((a + b).map(\.message) == ["3", "4", "5"])
        #expect(a.isEmpty || b.isEmpty)
        #expect(try await first.claim(for: "u", now: 2_000).isEmpty)
        // expired at the claim: left out and counted
        try await first.enqueue("old", for: ["u"], now: 1_000).durable()
        #expect(try await second.claim(for: "u", now: 100_000).isEmpty)
        #expect(second.queueStatistics.expired == 1)
        await first.close()
        await second.close()
    }

    @Test func idleUsersExpireOnlyWhenNoNodeHasThemConnected() async throws {
        let schema = Self.schema()
        let store = try await Self.open(schema)
        try await store.register("idle", hash: "h")
        try await store.register("busy", hash: "h")
        _ = try await TestDatabase.execute(PostgresQuery(unsafeSQL: "UPDATE \(schema.usersTable) SET active_at = NOW() - interval '1 hour'"))
        // another node has "busy" connected: it marks it active, and this node's sweep leaves it
        let other = try await Self.open(schema)
        #expect(try await other.expireIdle([], connected: ["busy"], timeout: .seconds(60)).isEmpty)
        #expect(try await store.expireIdle(["idle", "busy"], connected: [], timeout: .seconds(60)) == ["idle"])
        #expect(store.userIDs == ["busy"])
        #expect(other.contains("idle"))
        #expect(try await other.expireIdle(["idle"], connected: [], timeout: .seconds(60)) == ["idle"])  // gone: memory follows
        #expect(!other.contains("idle"))
        await store.close()
        await other.close()
    }

    @Test func anUnreachableDatabaseIsAClearErrorWithoutThePassword() async throws {
        await #expect {
            _ = try await PostgresUserStore.open(url: try PostgresURL("postgres://u:secret@127.0.0.1:1/db"), timeout: .seconds(2), logger: TestDatabase.logger)
        } throws: { error in
            let message = (error as? UserStoreError)?.message ?? ""
            return message.hasPrefix("cannot open the user store postgres://u@127.0.0.1:1/db") && !message.contains("secret")
        }
    }
}
