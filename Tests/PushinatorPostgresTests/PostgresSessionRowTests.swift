import PostgresNIO
import PushinatorJSON
@testable import PushinatorPostgres
import PushinatorSocketIO
import Testing

/// The session table's rows and batched writes, without a database.
struct PostgresSessionRowTests {
    static let record = SessionRecord(
        pid: "p1",
        namespace: "/",
        id: "s1",
        node: "a1b2c3d4e5f60718",
        rooms: ["user:42", "s1", "authenticated"],
        data: ["name": "x", "n": 1],
        storage: ["pushinator.user": "42"],
        baseOffset: "ab3z1.5"
    )

    @Test func aRecordIsARowOfJSONColumnsAndBack() {
        let row = PostgresSessionRow(Self.record)
        #expect(row.rooms == #"["authenticated","s1","user:42"]"#)
        #expect(row.data == #"{"name":"x","n":1}"#)
        #expect(row.storage == #"{"pushinator.user":"42"}"#)
        #expect(row.sid == "s1" && row.node == "a1b2c3d4e5f60718" && row.baseOffset == "ab3z1.5")
        #expect(row.record == Self.record)
    }

    @Test(arguments: [
        (#"{"a":1}"#, "null", "{}"), (#"[1]"#, "null", "{}"), ("[]", "not json", "{}"), ("[]", "null", #"{"k":1}"#),
        ("[]", "null", "[]"),
    ])
    func aRowWithColumnsTheStoreDoesNotWriteIsNoRecord(_ rooms: String, _ data: String, _ storage: String) {
        let row = PostgresSessionRow(pid: "p", namespace: "/", sid: "s", node: "n", rooms: rooms, data: data, storage: storage, baseOffset: "")
        #expect(row.record == nil)
    }

    @Test func aBatchIsOneStatementPerKindOfWrite() {
        let row = PostgresSessionRow(Self.record)
        let batch: [String: PostgresSessionTable.Pending] = [
            "p1": .upsert(row, disconnected: false), "p2": .upsert(row, disconnected: true), "p3": .markDisconnected,
            "p4": .delete, "p5": .delete,
        ]
        let queries = PostgresSessionSQL.batch(batch, node: "me", table: "sessions")
        #expect(queries.count == 3)
        #expect(queries[0].sql.hasPrefix("INSERT INTO sessions") && queries[0].binds.count == 9)
        #expect(queries[1].sql.contains("UPDATE sessions SET disconnected_at = now()"))
        #expect(queries[2].sql.hasPrefix("DELETE FROM sessions WHERE node = $1"))
        #expect(PostgresSessionSQL.batch(["p": .delete], node: "me", table: "t").count == 1)
        #expect(PostgresSessionSQL.batch([:], node: "me", table: "t").isEmpty)
    }

    @Test func pendingWritesAreBoundedTheOldestDroppedAndOneWritePerSessionKept() throws {
        let cluster = PostgresClusterConfiguration(url: try PostgresURL("postgres://u@127.0.0.1:1/db"))
        var configuration = PostgresSessionTable.Configuration(cluster: cluster, maxDisconnectionDuration: .seconds(60))
        configuration.maxPendingWrites = 2
        let transport = try PostgresClusterTransport(configuration: cluster, logger: .init(label: "test"))
        let table = PostgresSessionTable(configuration: configuration, transport: transport, logger: .init(label: "test"))
        let store = table.store(namespace: "/", recovery: ConnectionStateRecovery())
        var record = Self.record
        for pid in ["p1", "p2", "p2", "p3"] {
            record.pid = pid
            store.sessionOpened(record)
        }
        store.sessionClosed(pid: "p3", recoverable: true)  // still one write for p3: its row, marked disconnected
        #expect(table.statistics.pendingWrites == 2 && table.statistics.droppedWrites == 1)
    }
}
