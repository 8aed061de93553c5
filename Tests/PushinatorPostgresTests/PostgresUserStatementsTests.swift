import NIOCore
import PostgresNIO
import PushinatorKit
@testable import PushinatorPostgres
import Testing

/// The SQL the PostgreSQL user store sends and the rows it reads, without a database.
@Suite("PostgreSQL user store: SQL and rows")
struct PostgresUserStatementsTests {
    let statements = PostgresUserStatements(schema: PostgresUserSchema())

    @Test func registrationsAreOneArrayStatementWhateverTheirNumber() {
        let rows = (0..<5_000).map { ("user\($0)", HashDigest(of: "hash\($0)")) }
        let query = statements.upsertUsers(rows)
        #expect(query.sql.contains("INSERT INTO pushinator_users (id, digest) SELECT * FROM UNNEST($1::text[], $2::bytea[])"))
        #expect(query.sql.contains("ON CONFLICT (id) DO UPDATE SET digest = excluded.digest"))
        #expect(query.binds.count == 2)
        #expect(!query.sql.contains("hash1"))  // the digests travel, never the hashes
    }

    @Test func messagesKeepTheirOrderAndOnlyRegisteredUsersGetThem() {
        let messages = (1...3).map { QueuedMessage(sequence: 0, userID: "u\($0)", enqueuedAt: 1_000, message: "\"m\($0)\"") }
        let query = statements.insertMessages(messages)
        #expect(query.binds.count == 3)
        #expect(query.sql.contains("WITH ORDINALITY AS m(user_id, enqueued_at, message, n)"))
        #expect(query.sql.contains("ORDER BY m.n"))
        #expect(query.sql.contains("WHERE EXISTS (SELECT 1 FROM pushinator_users u WHERE u.id = m.user_id)"))
    }

    @Test func aQueueIsTakenWithDeleteReturning() {
        let query = statements.claimQueues(of: ["42"])
        #expect(query.sql == "DELETE FROM pushinator_offline_queue WHERE user_id = ANY($1::text[]) RETURNING seq, user_id, enqueued_at, message")
        #expect(query.binds.count == 1)
    }

    @Test func limitsAndExpiryAreStatementsWithParameters() {
        let trim = statements.trimQueues(of: ["a", "b"], maxPerUser: 100)
        #expect(trim.sql.contains("row_number() OVER (PARTITION BY user_id ORDER BY seq DESC)"))
        #expect(trim.binds.count == 2)
        #expect(statements.trimBytes(to: 64 << 20).sql.contains("sum(octet_length(message)) OVER (ORDER BY seq DESC)"))
        #expect(statements.expireMessages(before: 5).sql.contains("enqueued_at < $1"))
        let idle = statements.deleteIdleUsers(["a"], milliseconds: 60_000)
        #expect(idle.sql.contains("active_at < NOW() - ($2::double precision / 1000) * interval '1 second'"))
        #expect(idle.sql.contains("RETURNING id"))
    }

    @Test func otherTableNamesAreUsedAndBadOnesRefused() throws {
        let schema = PostgresUserSchema(usersTable: "app_users", queueTable: "app_queue", schemaTable: "app_schema")
        try schema.validate()
        let other = PostgresUserStatements(schema: schema)
        #expect(other.deleteUsers(["x"]).sql == "DELETE FROM app_users WHERE id = ANY($1::text[]) RETURNING id")
        #expect(schema.migrations.joined().allSatisfy { $0.contains("IF NOT EXISTS") })
        #expect(schema.versionStatements.create.contains("app_schema"))
        for bad in ["Users", "users;drop", "", "1users", String(repeating: "a", count: 64)] {
            #expect(throws: UserStoreError.self) { try PostgresUserSchema(usersTable: bad).validate() }
        }
    }

    @Test func repeatedRegistrationsInOneBatchKeepTheLastDigest() {
        let first = HashDigest(of: "one")
        let second = HashDigest(of: "two")
        let rows = PostgresUserStatements.deduplicated([("a", first), ("b", first), ("a", second)])
        #expect(rows.map(\.0) == ["b", "a"])
        #expect(rows.map(\.1) == [first, second])
    }

    @Test func digestsAreReadBackOnlyWhenTheyHave32Bytes() {
        let digest = HashDigest(of: "hash")
        #expect(PostgresUserStatements.digest(ByteBuffer(bytes: digest.bytes)) == digest)
        #expect(PostgresUserStatements.digest(ByteBuffer(bytes: digest.bytes.dropLast())) == nil)
        #expect(PostgresUserStatements.digest(ByteBuffer()) == nil)
    }

    @Test func theStartUpReadUnpacksDigestLengthAndIDPerUser() {
        var packed = ByteBuffer()
        for id in ["1", "élève", ""] {
            packed.writeBytes(HashDigest(of: "h" + id).bytes)
            packed.writeInteger(Int32(id.utf8.count), endianness: .big)
            packed.writeString(id)
        }
        let users = PostgresUserStatements.unpackUsers(packed)
        #expect(users?.map(\.0) == ["1", "élève", ""])
        #expect(users?.map(\.1) == ["1", "élève", ""].map { HashDigest(of: "h" + $0) })
        #expect(PostgresUserStatements.unpackUsers(ByteBuffer())?.isEmpty == true)
        var truncated = packed
        truncated.moveWriterIndex(to: packed.writerIndex - 1)
        #expect(PostgresUserStatements.unpackUsers(truncated) == nil)
        let query = statements.loadUsers(after: nil)
        #expect(query.sql.contains("WHERE octet_length(digest) = 32") && query.sql.contains("ORDER BY id LIMIT $3"))
    }

    @Test func claimedRowsAreGroupedByUserOldestFirst() {
        let rows = [
            QueuedMessage(sequence: 9, userID: "a", enqueuedAt: 3, message: "3"),
            QueuedMessage(sequence: 2, userID: "b", enqueuedAt: 1, message: "x"),
            QueuedMessage(sequence: 4, userID: "a", enqueuedAt: 2, message: "2"),
            QueuedMessage(sequence: 1, userID: "a", enqueuedAt: 1, message: "1"),
        ]
        let grouped = PostgresUserStatements.grouped(rows)
        #expect(grouped["a"]?.map(\.message) == ["1", "2", "3"])
        #expect(grouped["b"]?.map(\.sequence) == [2])
    }

    @Test func operationsOfOneKindAreGrouped() {
        #expect(PostgresUserOperation.claim("a").groupKind == PostgresUserOperation.claim("b").groupKind)
        #expect(PostgresUserOperation.claim("a").groupKind != PostgresUserOperation.lookup("a").groupKind)
        #expect(PostgresUserOperation.sweep(cutoff: nil, maxBytes: 1).groupKind == nil)
    }

    @Test func theStoreLocationNamesTheClusterDatabaseOrItsOwn() {
        #expect(UserStoreLocation("postgres") == .postgres(url: nil))
        #expect(UserStoreLocation("postgres://u:pw@db/push") == .postgres(url: "postgres://u:pw@db/push"))
        #expect(UserStoreLocation("postgresql://u@db/push") == .postgres(url: "postgresql://u@db/push"))
        #expect(UserStoreLocation("postgres:") == nil)
        #expect(UserStoreLocation.postgres(url: "postgres://u:pw@db:5432/push").description == "postgres://u:***@db:5432/push")
        #expect(UserStoreLocation.postgres(url: "postgres://u@db/push").description == "postgres://u@db/push")
    }
}
