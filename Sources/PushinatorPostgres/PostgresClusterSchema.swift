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
            publishFunction(configuration),
            """
            CREATE TABLE IF NOT EXISTS \(cursors) (
                node        text PRIMARY KEY,
                log_id      bigint NOT NULL,
                updated_at  timestamptz NOT NULL DEFAULT NOW()
            )
            """,
        ]
    }

    /// The function a publish batch calls (``PostgresClusterConfiguration/publishFunction``): log ids drawn in
    /// the batch's order, the rows inserted, a notification each (its JSON with the log id appended), in that order;
    /// returns the log ids. A PL/pgSQL function keeps its statement's plan for the session (the connection), so a
    /// batch is not parsed and planned again each time (that was most of PostgreSQL's work for a batch of a few
    /// dozen messages); the sequence is looked up once per call, not once per row. `CREATE OR REPLACE`: a node of
    /// a newer version replaces the function of an older one at its start (same arguments and result).
    static func publishFunction(_ configuration: PostgresClusterConfiguration) -> String {
        let log = configuration.logTable
        return """
            CREATE OR REPLACE FUNCTION \(configuration.publishFunction)(
                channels text[], uids text[], payloads bytea[], bodies text[]
            ) RETURNS bigint[] LANGUAGE plpgsql AS $publish$
            DECLARE
                ids bigint[];
            BEGIN
                WITH input AS MATERIALIZED (
                    SELECT nextval((SELECT pg_get_serial_sequence('\(log)', 'id'))::regclass) AS id,
                        channel, uid, payload, body
                    FROM (
                        SELECT * FROM unnest(channels, uids, payloads, bodies)
                            WITH ORDINALITY AS m(channel, uid, payload, body, position)
                        ORDER BY position
                    ) ordered
                ), entry AS (
                    INSERT INTO \(log) (id, channel, uid, payload) SELECT id, channel, uid, payload FROM input
                )
                SELECT array_agg(id) INTO ids FROM (
                    SELECT id, pg_notify(channel, left(body, -1) || ',"pushinatorLogId":' || id || '}') FROM input
                ) notified;
                RETURN ids;
            END
            $publish$
            """
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
