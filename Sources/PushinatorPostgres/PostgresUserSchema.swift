import Logging
import PostgresNIO
import PushinatorKit

/// The tables of ``PostgresUserStore``, created and migrated idempotently at start-up (any number of nodes may
/// start at once: an advisory lock serializes them).
///
/// Each migration runs once, in order; the highest one applied is kept in the schema table under the name
/// `users`, so that a later version adds a migration and older databases are brought up to it at their next start.
public struct PostgresUserSchema: Sendable, Equatable {
    /// The registered users: id, SHA-256 digest of the hash (never the hash), last activity. Default
    /// `pushinator_users`.
    public var usersTable: String
    /// The offline queue: one row per message and user, in `seq` order. Default `pushinator_offline_queue`.
    public var queueTable: String
    /// The applied migration of each part of pushinator's schema. Default `pushinator_schema`.
    public var schemaTable: String

    /// Creates the table names; each must be a lower-case SQL identifier (letters, digits and `_`).
    public init(
        usersTable: String = "pushinator_users",
        queueTable: String = "pushinator_offline_queue",
        schemaTable: String = "pushinator_schema"
    ) {
        self.usersTable = usersTable
        self.queueTable = queueTable
        self.schemaTable = schemaTable
    }

    /// The lock key of the migration (`pg_advisory_xact_lock`), an arbitrary constant (the cluster's is another).
    static let lockKey: Int64 = 0x7075_7368_7573_6572  // "pushuser"

    /// Throws `UserStoreError` unless every table name is a plain lower-case identifier (they are written into the
    /// SQL).
    func validate() throws(UserStoreError) {
        for (name, table) in [("users", usersTable), ("queue", queueTable), ("schema", schemaTable)] {
            let valid = !table.isEmpty && table.utf8.count <= 63 && table.utf8.first.map { !(48...57).contains($0) } == true
                && table.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
            guard valid else {
                throw UserStoreError("the \(name) table name must be lower-case letters, digits and _: \(table)")
            }
        }
    }

    /// The migrations, in order; migration `n` (1-based) runs when the recorded version is below `n`.
    var migrations: [[String]] {
        [
            [
                """
                CREATE TABLE IF NOT EXISTS \(usersTable) (
                    id          text PRIMARY KEY,
                    digest      bytea NOT NULL,
                    active_at   timestamptz NOT NULL DEFAULT NOW()
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS \(queueTable) (
                    seq          bigserial PRIMARY KEY,
                    user_id      text NOT NULL,
                    enqueued_at  bigint NOT NULL,
                    message      text NOT NULL
                )
                """,
                "CREATE INDEX IF NOT EXISTS \(queueTable)_user ON \(queueTable) (user_id, seq)",
                "CREATE INDEX IF NOT EXISTS \(queueTable)_enqueued_at ON \(queueTable) (enqueued_at)",
            ]
        ]
    }

    /// The statements that create the schema table and read the version.
    var versionStatements: (create: String, read: String, write: String) {
        (
            "CREATE TABLE IF NOT EXISTS \(schemaTable) (name text PRIMARY KEY, version integer NOT NULL)",
            "SELECT version FROM \(schemaTable) WHERE name = 'users'",
            "INSERT INTO \(schemaTable) (name, version) VALUES ('users', $1) ON CONFLICT (name) DO UPDATE SET version = excluded.version"
        )
    }

    /// Creates or migrates the tables in one transaction under the advisory lock; returns the version now applied.
    /// A database whose version is newer than this build's (a newer pushinator migrated it) is used as it is.
    @discardableResult
    func prepare(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            let version = versionStatements
            try await connection.query(PostgresQuery(unsafeSQL: version.create), logger: logger)
            var applied = 0
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: version.read), logger: logger)
                .decode(Int32.self)
            {
                applied = Int(value)
            }
            let target = migrations.count
            if applied < target {
                for migration in migrations[applied...] {
                    for statement in migration {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                }
                var binds = PostgresBindings()
                binds.append(Int32(target))
                try await connection.query(PostgresQuery(unsafeSQL: version.write, binds: binds), logger: logger)
                logger.info("user store schema migrated", metadata: ["store.schema.from": "\(applied)", "store.schema.to": "\(target)"])
            }
            try await connection.query("COMMIT", logger: logger)
            return max(applied, target)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
