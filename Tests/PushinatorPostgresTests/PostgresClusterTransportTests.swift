import Foundation
import NIOCore
import PostgresNIO
import PushinatorCluster
import PushinatorJSON
import PushinatorMessagePack
@testable import PushinatorPostgres
import Synchronization
import Testing

/// The transport against a real PostgreSQL server (scripts/with-postgres.sh; skipped when
/// PUSHINATOR_TEST_POSTGRES_URL is not set, which the test command always sets).
@Suite(.serialized, .enabled(if: TestDatabase.available, "needs PUSHINATOR_TEST_POSTGRES_URL (scripts/with-postgres.sh)"))
struct PostgresClusterTransportTests {
    static func broadcast(_ uid: String, _ arguments: JSONValue..., rooms: [String] = []) -> ClusterMessage {
        ClusterMessage(
            uid: uid,
            nsp: "/",
            body: .broadcast(packet: ["type": 2, "data": .array(["news"] + arguments), "nsp": "/"], options: .init(rooms: rooms))
        )
    }

    @Test func messagesReachTheOtherNodeAndNotTheSender() async throws {
        let configuration = try TestDatabase.configuration()
        var other = configuration
        other.localUID = PostgresClusterConfiguration.randomUID()
        // two nodes starting at once: the schema is created once, under the advisory lock
        async let startA = RunningTransport(configuration)
        async let startB = RunningTransport(other)
        let (a, b) = try await (startA, startB)
        let message = Self.broadcast(configuration.localUID, "hello", 42, rooms: ["user:7"])
        try await a.transport.publish(message)
        try await b.waitFor("the broadcast") { b.messages.count == 1 }
        #expect(b.messages == [message])
        try await b.transport.publish(ClusterMessage(uid: other.localUID, nsp: "/", body: .heartbeat))
        try await a.waitFor("the heartbeat") { !a.messages.isEmpty }
        #expect(a.messages.map(\.body) == [.heartbeat])
        #expect(b.messages == [message])
        await a.stop()
        await b.stop()
    }

    @Test func largeAndBinaryMessagesGoThroughTheAttachmentTable() async throws {
        let configuration = try TestDatabase.configuration()
        var other = configuration
        other.localUID = PostgresClusterConfiguration.randomUID()
        let a = try await RunningTransport(configuration)
        let b = try await RunningTransport(other)
        let before = try await Self.attachmentCount()
        let large = Self.broadcast(configuration.localUID, .string(String(repeating: "x", count: 9000)))
        let binary = Self.broadcast(configuration.localUID, .binary(ByteBuffer(bytes: [0, 1, 2, 255])))
        let justUnder = Self.broadcast(configuration.localUID, .string(String(repeating: "y", count: 7800)))
        try await a.transport.publish(large)
        try await a.transport.publish(binary)
        try await a.transport.publish(justUnder)
        try await b.waitFor("three messages") { b.messages.count == 3 }
        #expect(b.messages == [large, binary, justUnder])
        #expect(try await Self.attachmentCount() == before + 2)
        await a.stop()
        await b.stop()
    }

    static func attachmentCount() async throws -> Int64 {
        let rows = try await TestDatabase.execute("SELECT count(*) FROM socket_io_attachments")
        return try rows[0].decode(Int64.self)
    }

    /// @socket.io/postgres-emitter's two forms, sent from Python with psycopg: `pg_notify` with the JSON, and the
    /// MessagePack row plus the `{uid, type, attachmentId}` header for a payload with binary.
    @Test func theEmittersFormatFromPythonReachesTheTransport() async throws {
        let configuration = try TestDatabase.configuration()
        let node = try await RunningTransport(configuration, namespaces: ["/", "/admin"])
        _ = try await TestDatabase.python(
            """
            import json, os, sys, msgpack, psycopg
            prefix = sys.argv[1]
            with psycopg.connect(os.environ["PGURL"], autocommit=True) as db:
                doc = {"type": 3, "data": {"packet": {"type": 2, "data": ["hello", "world"], "nsp": "/"},
                       "opts": {"rooms": ["user:42"], "flags": {}, "except": []}}, "uid": "emitter"}
                db.execute("SELECT pg_notify(%s, %s)", (prefix + "#/", json.dumps(doc, separators=(",", ":"))))
                doc = {"type": 3, "data": {"packet": {"type": 2, "data": ["file", b"\\x01\\x02"], "nsp": "/admin"},
                       "opts": {"rooms": [], "flags": {}, "except": []}}, "uid": "emitter"}
                row = db.execute("INSERT INTO socket_io_attachments (payload) VALUES (%s) RETURNING id",
                                 (msgpack.packb(doc),)).fetchone()
                header = {"uid": "emitter", "type": 3, "attachmentId": str(row[0])}
                db.execute("SELECT pg_notify(%s, %s)", (prefix + "#/admin", json.dumps(header)))
            """,
            arguments: [configuration.channelPrefix]
        )
        try await node.waitFor("two emitter messages") { node.messages.count == 2 }
        #expect(
            node.messages == [
                ClusterMessage(
                    uid: "emitter",
                    nsp: "/",
                    body: .broadcast(
                        packet: ["type": 2, "data": ["hello", "world"], "nsp": "/"],
                        options: .init(rooms: ["user:42"])
                    )
                ),
                ClusterMessage(
                    uid: "emitter",
                    nsp: "/admin",
                    body: .broadcast(
                        packet: ["type": 2, "data": ["file", .binary(ByteBuffer(bytes: [1, 2]))], "nsp": "/admin"],
                        options: .init()
                    )
                ),
            ]
        )
        await node.stop()
    }

    /// What the Swift side publishes, read from Python the way the Node adapter reads it: `JSON.parse` of the
    /// notification, or the attachment row decoded from MessagePack.
    @Test func whatItPublishesReadsAsTheNodeAdapterReadsIt() async throws {
        let configuration = try TestDatabase.configuration()
        let node = try await RunningTransport(configuration)
        let listener = try await PythonListener.start(channel: configuration.channel(of: "/"), count: 2)
        let plain = Self.broadcast(configuration.localUID, "hello", ["a": 1], rooms: ["room1"])
        let binary = Self.broadcast(configuration.localUID, .binary(ByteBuffer(bytes: [7, 8, 9])))
        try await node.transport.publish(plain)
        try await node.transport.publish(binary)
        let lines = try await listener.finish()
        #expect(lines.count == 2)
        // the notification is the Node adapter's JSON text, with the log id appended
        #expect(lines.first?.hasPrefix("notification " + plain.jsonValue.jsonString.dropLast() + #","pushinatorLogId":"#) == true)
        // the attachment header names uid, type and the row id (a string, as node-pg returns a bigint)
        let expectedAttachment = #"attachment {"uid": "\#(configuration.localUID)", "type": 3, "attachmentIdIsString": true, "#
            + #""message": {"type": 3, "data": {"packet": {"type": 2, "data": ["news", [7, 8, 9]], "nsp": "/"}, "#
            + #""opts": {"rooms": [], "except": [], "flags": {}}}, "uid": "\#(configuration.localUID)", "nsp": "/"}}"#
        #expect(lines.last == expectedAttachment)
        await node.stop()
    }

    /// A node restarted under the same name reads what was published while it was away, once; one whose
    /// listening connection is cut reports it, comes back, and loses nothing.
    @Test func aNodeCatchesUpAfterARestartAndAfterItsConnectionIsCut() async throws {
        let configuration = try TestDatabase.configuration()
        var named = configuration
        named.localUID = PostgresClusterConfiguration.randomUID()
        named.nodeName = "node-b-\(named.localUID)"
        let a = try await RunningTransport(configuration)
        let first = try await RunningTransport(named)
        let before = Self.broadcast(configuration.localUID, "before")
        try await a.transport.publish(before)
        try await first.waitFor("the first message") { first.messages.count == 1 }
        await first.stop()

        let missed = [
            Self.broadcast(configuration.localUID, "missed", 1),
            Self.broadcast(configuration.localUID, "missed", .binary(ByteBuffer(bytes: [2]))),
            Self.broadcast(configuration.localUID, "missed", 3),
        ]
        for message in missed { try await a.transport.publish(message) }
        let second = try await RunningTransport(named)
        try await second.waitFor("the missed messages") { second.messages.count >= 3 }
        #expect(second.messages == missed)

        // cut every listening connection, publish at once, then wait for the reconnection
        _ = try await TestDatabase.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
        )
        let during = (1...5).map { Self.broadcast(configuration.localUID, "during", .integer($0)) }
        for message in during { try await a.transport.publish(message) }
        try await second.waitFor("the reconnection and the messages") {
            second.events.contains { if case .reconnected = $0 { true } else { false } } && second.messages.count >= 8
        }
        #expect(second.messages == missed + during)
        #expect(second.events.contains { if case .disconnected = $0 { true } else { false } })
        // a message after the reconnection comes by notification, still once
        let after = Self.broadcast(configuration.localUID, "after")
        try await a.transport.publish(after)
        try await second.waitFor("the last message") { second.messages.count >= 9 }
        #expect(second.messages == missed + during + [after])
        await a.stop()
        await second.stop()
    }

    @Test func badMessagesOnTheChannelAreDroppedAndTheNextOneArrives() async throws {
        let configuration = try TestDatabase.configuration()
        let node = try await RunningTransport(configuration)
        let channel = configuration.channel(of: "/")
        for payload in ["not json", #"{"type":99,"uid":"x"}"#, #"{"uid":"x","type":3,"attachmentId":"999999999999"}"#,
            #"{"type":4,"uid":"x","data":{"opts":{},"rooms":[1]}}"#]
        {
            _ = try await TestDatabase.execute("SELECT pg_notify(\(channel), \(payload))")
        }
        let good = Self.broadcast("x", "fine")
        _ = try await TestDatabase.execute("SELECT pg_notify(\(channel), \(good.jsonValue.jsonString))")
        try await node.waitFor("the good message") { !node.messages.isEmpty }
        #expect(node.messages == [good])
        #expect(node.dropped.map(\.reason) == [.notJSON, .unknownType, .wrongShape, .wrongShape])
        await node.stop()
    }

    @Test func aBatchGoesOutInOneTransactionInOrderAndEachNotificationIsASingleMessage() async throws {
        let configuration = try TestDatabase.configuration()
        var other = configuration
        other.localUID = PostgresClusterConfiguration.randomUID()
        let a = try await RunningTransport(configuration, namespaces: ["/", "/admin"])
        let b = try await RunningTransport(other, namespaces: ["/", "/admin"])
        let listener = try await PythonListener.start(channel: configuration.channel(of: "/"), count: 3)
        // small ones, a large one through the attachment table in the middle, and another namespace
        var batch = (0..<3).map { Self.broadcast(configuration.localUID, .integer($0)) }
        batch.append(Self.broadcast(configuration.localUID, .string(String(repeating: "x", count: 9000))))
        batch.append(ClusterMessage(uid: configuration.localUID, nsp: "/admin", body: .heartbeat))
        batch += (3..<300).map { Self.broadcast(configuration.localUID, .integer($0)) }
        try await a.transport.publish(batch)
        try await b.waitFor("the batch") { b.messages.count == batch.count }
        // in order within each namespace (each is a channel of its own, read by a task of its own)
        for namespace in ["/", "/admin"] {
            let received = b.messages.filter { $0.nsp == namespace }
            let expected = batch.filter { $0.nsp == namespace }
            #expect(received == expected, "\(namespace): \(received.count) received, first difference at \(String(describing: zip(received, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset))")
        }
        // what Node's adapter sees: one notification per message, with the log id appended
        let lines = try await listener.finish()
        for (line, number) in zip(lines, 0..<3) {
            let text = Self.broadcast(configuration.localUID, .integer(number)).jsonValue.jsonString
            #expect(line.hasPrefix("notification " + text.dropLast() + #","pushinatorLogId":"#), "\(line)")
        }
        // the log ids follow the batch's order
        let channel = configuration.channel(of: "/")
        let rows = try await TestDatabase.execute(
            "SELECT payload FROM pushinator_cluster_log WHERE channel = \(channel) AND uid = \(configuration.localUID) ORDER BY id"
        )
        let logged = try rows.map { try ClusterMessageDecoder().decode(messagePack: try $0.decode(ByteBuffer.self), channelNamespace: "/") }
        #expect(logged == batch.filter { $0.nsp == "/" }, "the log rows are not the batch, in order")
        // the node's own notifications came back: the bus lag is measured
        try await a.waitFor("the bus lag") { a.transport.busLag != nil }
        #expect(a.transport.busLag! < .seconds(60))
        await a.stop()
        await b.stop()
    }

    @Test func aBatchWithAMessageOverTheLimitPublishesNothing() async throws {
        var configuration = try TestDatabase.configuration()
        configuration.maxMessageBytes = 1_000
        let node = try await RunningTransport(configuration)
        let channel = configuration.channel(of: "/")
        let batch = [Self.broadcast(configuration.localUID, "small"), Self.broadcast(configuration.localUID, .string(String(repeating: "z", count: 2_000)))]
        await #expect(throws: PostgresClusterTransportError.self) { try await node.transport.publish(batch) }
        let logged = try await TestDatabase.execute("SELECT count(*) FROM pushinator_cluster_log WHERE channel = \(channel)")
        #expect(try logged[0].decode(Int64.self) == 0)
        await node.stop()
    }

    /// A publish on a connection that closed meanwhile fails (the server restarted, or cut it): PostgresNIO drops a
    /// query written once the connection's handlers are gone, and its answer never came, so the publish, and every
    /// one behind it, waited forever (a /user/send unanswered for over 60 s across a PostgreSQL restart).
    @Test func statementsQueuedOnAClosedConnectionFailAndAreNotLost() async throws {
        let logger = TestDatabase.logger
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresURL(TestDatabase.url!).connectionConfiguration(),
            id: 98,
            logger: logger
        )
        let open = try await PostgresClusterTransport.queue(["SELECT 1"], on: connection, logger: logger)
        #expect(try await open[0].get().rows.count == 1)
        try await connection.close()  // the close is over: the channel's handlers are removed
        let answered = Mutex(false)
        await #expect(throws: PostgresClusterTransportError.self) {
            let answers = try await PostgresClusterTransport.queue(["SELECT 1", "SELECT 2"], on: connection, logger: logger)
            // without the check, the answers never come: wait a bounded time for them rather than forever
            let deadline = ContinuousClock.now + .seconds(5)
            for answer in answers {
                answer.whenComplete { _ in answered.withLock { $0 = true } }
            }
            while ContinuousClock.now < deadline, !answered.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
            guard answered.withLock({ $0 }) else {
                Issue.record("a query on the closed connection never answered")
                return
            }
            for answer in answers { _ = try await answer.get() }
        }
    }

    @Test func oldRowsAreDeleted() async throws {
        var configuration = try TestDatabase.configuration()
        configuration.cleanupInterval = .milliseconds(1)
        configuration.logRetention = .milliseconds(1)
        let node = try await RunningTransport(configuration)
        try await node.transport.publish(Self.broadcast(configuration.localUID, .binary(ByteBuffer(bytes: [1]))))
        let channel = configuration.channel(of: "/")
        let logged = try await TestDatabase.execute("SELECT count(*) FROM pushinator_cluster_log WHERE channel = \(channel)")
        #expect(try logged[0].decode(Int64.self) == 1)
        try await Task.sleep(for: .milliseconds(20))
        try await node.transport.deleteOldRows()
        let left = try await TestDatabase.execute("SELECT count(*) FROM pushinator_cluster_log WHERE channel = \(channel)")
        #expect(try left[0].decode(Int64.self) == 0)
        let old = try await TestDatabase.execute(
            "SELECT count(*) FROM socket_io_attachments WHERE created_at < now() - interval '10 milliseconds'"
        )
        #expect(try old[0].decode(Int64.self) == 0)
        await node.stop()
    }

    @Test func anUnreachableDatabaseAtStartUpIsAClearError() async throws {
        let configuration = PostgresClusterConfiguration(url: try PostgresURL("postgres://nobody@127.0.0.1:1/none"))
        let transport = try PostgresClusterTransport(configuration: configuration, logger: TestDatabase.logger)
        do {
            try await transport.run()
            Issue.record("run() returned")
        } catch let error as PostgresClusterTransportError {
            #expect(error.kind == .database)
            #expect(error.message.hasPrefix("cannot start on postgres://nobody@127.0.0.1:1/none"))
        }
    }
}

/// Python listening on a channel (psycopg), reading each notification as the Node adapter does: it prints
/// `notification <payload>`, or for an attachment header `attachment <json>` with the row decoded by msgpack.
final class PythonListener: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()

    init(channel: String, count: Int) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            """
            import json, os, sys, msgpack, psycopg
            channel, count = sys.argv[1], int(sys.argv[2])
            # a second connection reads the attachments: the first one is busy inside notifies()
            with psycopg.connect(os.environ["PGURL"], autocommit=True) as db, \\
                    psycopg.connect(os.environ["PGURL"], autocommit=True) as reader:
                db.execute('LISTEN "%s"' % channel)
                print("ready", flush=True)
                seen = 0
                for note in db.notifies(timeout=30):
                    message = json.loads(note.payload)
                    if "attachmentId" in message:
                        row = reader.execute("SELECT payload FROM socket_io_attachments WHERE id = %s",
                                         (message["attachmentId"],)).fetchone()
                        full = msgpack.unpackb(row[0], raw=False)
                        full["data"]["packet"]["data"] = [list(x) if isinstance(x, bytes) else x
                                                          for x in full["data"]["packet"]["data"]]
                        print("attachment " + json.dumps({"uid": message["uid"], "type": message["type"],
                              "attachmentIdIsString": isinstance(message["attachmentId"], str), "message": full}),
                              flush=True)
                    else:
                        print("notification " + note.payload, flush=True)
                    seen += 1
                    if seen == count:
                        break
            """,
            channel, String(count),
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["PGURL"] = TestDatabase.url!
        process.environment = environment
        process.standardOutput = output
        try process.run()
    }

    /// Starts the script and waits until it listens (its output is read on a thread of its own, not on the
    /// cooperative pool the transport needs).
    static func start(channel: String, count: Int) async throws -> PythonListener {
        let listener = try PythonListener(channel: channel, count: count)
        try await offThePool { try listener.waitUntilReady() }
        return listener
    }

    private func waitUntilReady() throws {
        var line = Data()
        while !line.starts(with: Data("ready\n".utf8)) {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            guard !byte.isEmpty else { throw PostgresClusterTransportError.database("the Python listener exited") }
            line.append(byte)
        }
    }

    /// Waits for the script to end and returns what it printed after `ready`.
    func finish() async throws -> [String] {
        try await offThePool {
            let data = self.output.fileHandleForReading.readDataToEndOfFile()
            self.process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        }
    }
}
