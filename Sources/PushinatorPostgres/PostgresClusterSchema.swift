import PostgresNIO

/// The SQL of the cluster's tables, created idempotently at start-up (any number of nodes may start at once:
/// an advisory lock serializes them).
enum PostgresClusterSchema {
    /// The lock key of the schema creation (`pg_advisory_xact_lock`), an arbitrary constant.
    static let lockKey: Int64 = 0x7075_7368_696e_6174  // "pushinat"

    /// The statements, in order; the attachment table is the one @socket.io/postgres-adapter documents.
    static func statements(_ configuration: PostgresClusterConfiguration) -> [String] {
        let attachments = configuration.attachmentTable
        let log = configuration.logTable
        let cursors = configuration.cursorTable
        return [
            """
            CREATE TABLE IF NOT EXISTS \(attachments) (
                id          bigserial UNIQUE,
                created_at  timestamptz DEFAULT NOW(),
                payload     bytea
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(log) (
                id          bigserial PRIMARY KEY,
                created_at  timestamptz NOT NULL DEFAULT NOW(),
                channel     text NOT NULL,
                uid         text NOT NULL,
                payload     bytea NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS \(log)_created_at ON \(log) (created_at)",
            """
            CREATE TABLE IF NOT EXISTS \(cursors) (
                node        text PRIMARY KEY,
                log_id      bigint NOT NULL,
                updated_at  timestamptz NOT NULL DEFAULT NOW()
            )
            """,
        ]
    }

    /// Creates what is missing, in one transaction under the advisory lock.
    static func prepare(on connection: PostgresConnection, _ configuration: PostgresClusterConfiguration, logger: Logger)
        async throws
    {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            for statement in statements(configuration) {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
