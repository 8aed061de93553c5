import PostgresNIO
import PushinatorCluster
import PushinatorJSON
@testable import PushinatorPostgres
import PushinatorSocketIO
import Testing

/// The recovery session table against a real PostgreSQL: sessions written behind, taken back once, expired.
@Suite(.serialized, .enabled(if: TestDatabase.available, "needs PUSHINATOR_TEST_POSTGRES_URL (scripts/with-postgres.sh)"))
struct PostgresSessionTableTests {
    /// A table on tables of its own, running in a task until `body` returns.
    static func withTable(
        maxDisconnection: Duration = .seconds(60),
        _ body: (PostgresSessionTable, PostgresSessionStore, PostgresSessionTable.Configuration) async throws -> Void
    ) async throws {
        let suffix = UInt32.random(in: 0...UInt32.max)
        var configuration = PostgresSessionTable.Configuration(
            cluster: try TestDatabase.configuration(),
            maxDisconnectionDuration: maxDisconnection
        )
        configuration.sessionTable = "test_sessions_\(suffix)"
        configuration.nodeTable = "test_nodes_\(suffix)"
        configuration.flushInterval = .milliseconds(20)
        let transport = try PostgresClusterTransport(configuration: configuration.cluster, logger: TestDatabase.logger)
        let table = PostgresSessionTable(configuration: configuration, transport: transport, logger: TestDatabase.logger)
        let runner = Task { try await table.run() }
        defer { runner.cancel() }
        let store = table.store(namespace: "/", recovery: ConnectionStateRecovery())
        try await waitFor("the node row") {
            try await rows("SELECT node FROM \(configuration.nodeTable)").count == 1
        }
        try await body(table, store, configuration)
    }

    static func rows(_ sql: String) async throws -> [PostgresRow] {
        try await TestDatabase.execute(PostgresQuery(unsafeSQL: sql))
    }

    static func waitFor(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<500 {
            if (try? await condition()) == true { return }  // the tables may not exist yet
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for \(what)")
    }

    static func record(_ pid: String, node: String, rooms: Set<String> = ["s1"]) -> SessionRecord {
        SessionRecord(pid: pid, namespace: "/", id: "s-\(pid)", node: node, rooms: rooms, data: ["a": 1], storage: ["u": "42"], baseOffset: "abcd1.2")
    }

    @Test func aSessionIsWrittenOnConnectAndEachRoomChangeThenTakenBackOnce() async throws {
        try await Self.withTable { table, store, configuration in
            store.sessionOpened(Self.record("p1", node: table.nodeUID))
            store.sessionOpened(Self.record("p1", node: table.nodeUID, rooms: ["s1", "user:42"]))
            try await Self.waitFor("the row with the user's room") {
                let found = try await Self.rows("SELECT rooms FROM \(configuration.sessionTable) WHERE pid = 'p1'")
                return try found.first?.decode(String.self) == #"["s1","user:42"]"#
            }
            store.sessionClosed(pid: "p1", recoverable: true)
            try await Self.waitFor("the row marked disconnected") {
                try await Self.rows("SELECT 1 FROM \(configuration.sessionTable) WHERE pid = 'p1' AND disconnected_at IS NOT NULL")
                    .count == 1
            }
            #expect(await store.takeSession(pid: "p1", namespace: "/chat") == nil)  // another namespace
            #expect(await store.takeSession(pid: "p1", namespace: "/") == Self.record("p1", node: table.nodeUID, rooms: ["s1", "user:42"]))
            #expect(await store.takeSession(pid: "p1", namespace: "/") == nil)  // taken once
            #expect(table.statistics.restored == 1 && table.statistics.droppedWrites == 0)
        }
    }

    @Test func aCleanDisconnectDeletesTheSession() async throws {
        try await Self.withTable { table, store, configuration in
            store.sessionOpened(Self.record("p2", node: table.nodeUID))
            try await Self.waitFor("the row") {
                try await Self.rows("SELECT 1 FROM \(configuration.sessionTable) WHERE pid = 'p2'").count == 1
            }
            store.sessionClosed(pid: "p2", recoverable: false)
            try await Self.waitFor("the row deleted") {
                try await Self.rows("SELECT 1 FROM \(configuration.sessionTable) WHERE pid = 'p2'").isEmpty
            }
            #expect(await store.takeSession(pid: "p2", namespace: "/") == nil)
        }
    }

    @Test func sessionsExpireAfterTheirDisconnectionOrTheirNodesLastHeartbeat() async throws {
        try await Self.withTable(maxDisconnection: .seconds(2)) { table, store, configuration in
            let sessions = configuration.sessionTable
            store.sessionOpened(Self.record("gone", node: table.nodeUID))
            store.sessionClosed(pid: "gone", recoverable: true)
            try await Self.waitFor("the disconnected row") {
                try await Self.rows("SELECT 1 FROM \(sessions) WHERE pid = 'gone' AND disconnected_at IS NOT NULL").count == 1
            }
            _ = try await Self.rows("UPDATE \(sessions) SET disconnected_at = now() - interval '5 seconds' WHERE pid = 'gone'")
            #expect(await store.takeSession(pid: "gone", namespace: "/") == nil)

            // a live session of a node killed with -9: its node's row stops being written
            _ = try await Self.rows(
                """
                INSERT INTO \(sessions) (pid, nsp, sid, node, rooms, data, storage, base_offset)
                VALUES ('orphan', '/', 's', 'dead-node', '[]', 'null', '{}', 'abcd1.0'),
                       ('fresh', '/', 's', 'dying-node', '[]', 'null', '{}', 'abcd1.0')
                """
            )
            _ = try await Self.rows(
                """
                INSERT INTO \(configuration.nodeTable) (node, seen_at)
                VALUES ('dead-node', now() - interval '5 seconds'), ('dying-node', now())
                """
            )
            #expect(await store.takeSession(pid: "orphan", namespace: "/") == nil)
            #expect(await store.takeSession(pid: "fresh", namespace: "/")?.node == "dying-node")
            for query in PostgresSessionSQL.cleanup(configuration) { _ = try await TestDatabase.execute(query) }
            let left = try await Self.rows("SELECT pid FROM \(sessions)").map { try $0.decode(String.self) }
            #expect(left.isEmpty, "expired rows deleted: \(left)")
            let nodes = try await Self.rows("SELECT node FROM \(configuration.nodeTable) ORDER BY node").map { try $0.decode(String.self) }
            #expect(nodes == ["dying-node", table.nodeUID].sorted())
        }
    }
}
