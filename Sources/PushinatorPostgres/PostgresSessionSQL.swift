import PostgresNIO

/// The SQL of the recovery session table.
enum PostgresSessionSQL {
    /// The lock key of the schema creation (the cluster's tables take another one).
    static let lockKey: Int64 = 0x7075_7368_7265_636f  // "pushreco"

    /// The statements that create the tables, idempotently.
    static func statements(sessions: String, nodes: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(sessions) (
                pid              text PRIMARY KEY,
                nsp              text NOT NULL,
                sid              text NOT NULL,
                node             text NOT NULL,
                rooms            text NOT NULL,
                data             text NOT NULL,
                storage          text NOT NULL,
                base_offset      text NOT NULL,
                updated_at       timestamptz NOT NULL DEFAULT NOW(),
                disconnected_at  timestamptz
            )
            """,
            "CREATE INDEX IF NOT EXISTS \(sessions)_node ON \(sessions) (node)",
            """
            CREATE TABLE IF NOT EXISTS \(nodes) (
                node     text PRIMARY KEY,
                seen_at  timestamptz NOT NULL DEFAULT NOW()
            )
            """,
        ]
    }

    static func prepare(on connection: PostgresConnection, _ configuration: PostgresSessionTable.Configuration, logger: Logger)
        async throws
    {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            for statement in statements(sessions: configuration.sessionTable, nodes: configuration.nodeTable) {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// The statements of one batch of writes of node `node`: upserts, then disconnections, then deletions.
    static func batch(_ writes: [String: PostgresSessionTable.Pending], node: String, table: String) -> [PostgresQuery] {
        var rows: [PostgresSessionRow] = []
        var disconnected: [Bool] = []
        var marked: [String] = []
        var deleted: [String] = []
        for (pid, write) in writes.sorted(by: { $0.key < $1.key }) {
            switch write {
            case .upsert(let row, let isDisconnected):
                rows.append(row)
                disconnected.append(isDisconnected)
            case .markDisconnected: marked.append(pid)
            case .delete: deleted.append(pid)
            }
        }
        var queries: [PostgresQuery] = []
        if !rows.isEmpty {
            let (pids, nsps, sids, nodes) = (rows.map(\.pid), rows.map(\.namespace), rows.map(\.sid), rows.map(\.node))
            let (rooms, data, storage, bases) = (rows.map(\.rooms), rows.map(\.data), rows.map(\.storage), rows.map(\.baseOffset))
            queries.append(
                """
                INSERT INTO \(unescaped: table) (pid, nsp, sid, node, rooms, data, storage, base_offset, updated_at, disconnected_at)
                SELECT u.pid, u.nsp, u.sid, u.node, u.rooms, u.data, u.storage, u.base_offset, now(),
                       CASE WHEN u.disconnected THEN now() END
                FROM unnest(\(pids)::text[], \(nsps)::text[], \(sids)::text[], \(nodes)::text[], \(rooms)::text[],
                            \(data)::text[], \(storage)::text[], \(bases)::text[], \(disconnected)::bool[])
                     AS u(pid, nsp, sid, node, rooms, data, storage, base_offset, disconnected)
                ON CONFLICT (pid) DO UPDATE SET nsp = EXCLUDED.nsp, sid = EXCLUDED.sid, node = EXCLUDED.node,
                    rooms = EXCLUDED.rooms, data = EXCLUDED.data, storage = EXCLUDED.storage,
                    base_offset = EXCLUDED.base_offset, updated_at = now(), disconnected_at = EXCLUDED.disconnected_at
                """
            )
        }
        if !marked.isEmpty {
            queries.append(
                """
                UPDATE \(unescaped: table) SET disconnected_at = now()
                WHERE node = \(node) AND pid = ANY(\(marked)::text[]) AND disconnected_at IS NULL
                """
            )
        }
        if !deleted.isEmpty {
            queries.append("DELETE FROM \(unescaped: table) WHERE node = \(node) AND pid = ANY(\(deleted)::text[])")
        }
        return queries
    }

    /// Deletes and returns session `pid` of `namespace` unless it expired: disconnected longer ago than the
    /// maximum, or its node not seen for that long.
    static func take(pid: String, namespace: String, configuration: PostgresSessionTable.Configuration) -> PostgresQuery {
        let seconds = seconds(configuration.maxDisconnectionDuration)
        return """
            DELETE FROM \(unescaped: configuration.sessionTable) s
            WHERE s.pid = \(pid) AND s.nsp = \(namespace)
              AND (s.disconnected_at IS NULL OR s.disconnected_at > now() - make_interval(secs => \(seconds)))
              AND EXISTS (SELECT 1 FROM \(unescaped: configuration.nodeTable) n
                          WHERE n.node = s.node AND n.seen_at > now() - make_interval(secs => \(seconds)))
            RETURNING s.sid, s.node, s.rooms, s.data, s.storage, s.base_offset
            """
    }

    /// This node is alive.
    static func beat(node: String, table: String) -> PostgresQuery {
        """
        INSERT INTO \(unescaped: table) (node, seen_at) VALUES (\(node), now())
        ON CONFLICT (node) DO UPDATE SET seen_at = now()
        """
    }

    /// Deletes the expired sessions, then the nodes not seen for longer than the maximum.
    static func cleanup(_ configuration: PostgresSessionTable.Configuration) -> [PostgresQuery] {
        let seconds = seconds(configuration.maxDisconnectionDuration)
        return [
            """
            DELETE FROM \(unescaped: configuration.sessionTable) s
            WHERE (s.disconnected_at IS NOT NULL AND s.disconnected_at < now() - make_interval(secs => \(seconds)))
               OR NOT EXISTS (SELECT 1 FROM \(unescaped: configuration.nodeTable) n
                              WHERE n.node = s.node AND n.seen_at > now() - make_interval(secs => \(seconds)))
            """,
            """
            DELETE FROM \(unescaped: configuration.nodeTable)
            WHERE seen_at < now() - make_interval(secs => \(seconds))
            """,
        ]
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
