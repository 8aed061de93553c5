@testable import EngineIO
import Logging
import NIOCore
import PushinatorHTTP
import PushinatorJSON
@testable import PushinatorSocketIO
import PushinatorTesting
import Synchronization
import Testing

/// Handlers with a synchronous fast path (`on(_:synchronously:handler:)`, `onConnection(synchronously:handler:)`,
/// `onDisconnect(synchronously:handler:)`) and acks encoded once (`EncodedAckArguments`).
@Suite("Namespace fast paths")
struct NamespaceFastPathTests {
    /// What the handlers saw, in order: `fast`/`task` per event path, `connect`/`disconnect` steps.
    final class Log: Sendable {
        private let entries = Mutex<[String]>([])
        func add(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    struct Failure: Error {}

    static let ok = EncodedAckArguments([["ok": true, "queued": 0]])

    /// `/` acks `fast` on the fast path unless its argument is `"slow"`; `/` runs three connection handlers (fast,
    /// needing a task, fast) and a fast disconnect handler.
    static func makeServer(_ log: Log) -> SocketIOServer {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let io = SocketIOServer(logger: logger)
        io.namespace("/") { main in
            main.on("fast", synchronously: { _, event in
                guard event.arguments.first?.string != "slow" else { return false }
                if event.arguments.first?.string == "throw" { throw Failure() }
                log.add(withUnsafeCurrentTask { $0 == nil } ? "fast without a task" : "fast in a task")
                event.ack(ok)
                return true
            }, handler: { _, event in
                await Task.yield()
                log.add("task")
                event.ack(["from the task"])
            })
            main.on("binary", synchronously: { _, event in
                event.ack(EncodedAckArguments([.binary(ByteBuffer(bytes: [1, 2, 3])), "x"]))
                return true
            }, handler: { _, _ in })
            main.on("log") { _, event in event.ack([]) }
            main.onConnection(synchronously: { _ in
                log.add(withUnsafeCurrentTask { $0 == nil } ? "connect 1 without a task" : "connect 1 in a task")
                return true
            }, handler: { _ in log.add("connect 1 task") })
            main.onConnection(synchronously: { _ in false }, handler: { _ in
                await Task.yield()
                log.add("connect 2 task")
            })
            main.onConnection(synchronously: { _ in
                log.add("connect 3 fast")
                return true
            }, handler: { _ in log.add("connect 3 task") })
            main.onDisconnect(synchronously: { _, reason in
                log.add("disconnect \(reason)")
                return true
            }, handler: { _, _ in log.add("disconnect task") })
        }
        io.namespace("/chat") { chat in
            chat.on("fast", synchronously: { _, event in
                event.ack(ok)
                return true
            }, handler: { _, _ in })
        }
        return io
    }

    static func live(_ io: SocketIOServer, _ body: (any TestClient) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let router = Router { io.routes() }
        try await router.test(.live(), logger: logger) { http in
            defer { io.engine.closeAllSessions() }
            try await body(http)
        }
    }

    @Test func fastPathAcksWithoutATaskAndFallsBackToTheHandler() async throws {
        let log = Log()
        try await Self.live(Self.makeServer(log)) { http in
            let client = try await SocketIOTestClient.connect(to: http)
            #expect(try await client.emitWithAck("fast", ["now"]) == [["ok": true, "queued": 0]])
            #expect(try await client.emitWithAck("fast", ["slow"]) == ["from the task"])
            try await client.emit("fast", "throw")  // logged, handled: the handler does not run
            #expect(try await client.emitWithAck("fast", ["again"]) == [["ok": true, "queued": 0]])
            _ = try await client.emitWithAck("log", [])  // every handler before it is done
            // the connection handlers in their order (the third in the second's task), the events in theirs
            #expect(log.all.filter { $0.hasPrefix("connect") } == ["connect 1 without a task", "connect 2 task", "connect 3 fast"])
            #expect(log.all.filter { !$0.hasPrefix("connect") } == ["fast without a task", "task", "fast without a task"])
            let chat = try await SocketIOTestClient.connect(to: http, namespace: "/chat")
            #expect(try await chat.emitWithAck("fast", []) == [["ok": true, "queued": 0]])
            await chat.disconnect()
            await client.disconnect()
        }
    }

    @Test func encodedArgumentsWithBinaryGoThroughThePacketEncoder() async throws {
        try await Self.live(Self.makeServer(Log())) { http in
            let client = try await SocketIOTestClient.connect(to: http)
            #expect(try await client.emitWithAck("binary", []) == [.binary(ByteBuffer(bytes: [1, 2, 3])), "x"])
            await client.disconnect()
        }
    }

    @Test func fastDisconnectHandlerRuns() async throws {
        let log = Log()
        try await Self.live(Self.makeServer(log)) { http in
            let first = try await SocketIOTestClient.connect(to: http)
            await first.disconnect()
            let second = try await SocketIOTestClient.connect(to: http)
            // the first client's disconnect is handled on its connection's loop: wait for it (2 s at most)
            for _ in 0..<200 where !log.all.contains(where: { $0.hasPrefix("disconnect ") }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(log.all.contains { $0.hasPrefix("disconnect ") })
            #expect(!log.all.contains("disconnect task"))
            await second.disconnect()
        }
    }

    /// An ack encoded once is the bytes the generic encoder gives for the same ACK packet.
    @Test(arguments: [("/", 0), ("", 7), ("/chat", 12345), ("/ns é,x", 2)])
    func encodedAckIsTheGenericPacket(namespace: String, id: Int) {
        let arguments: [JSONValue] = [["ok": true, "queued": 0, "note": "quote\"\u{2028}"]]
        let generic = "4" + SocketIOPacket.ack(id, arguments, namespace: namespace).encoded().text
        let encoded = EncodedAckArguments(arguments)
        guard let text = encoded.text else {
            Issue.record("no text for JSON arguments")
            return
        }
        let packet = SocketIOWire.ackPacket(id, encodedArguments: text, namespace: namespace)
        guard case .text(let bytes) = packet.kind else {
            Issue.record("not a text packet")
            return
        }
        #expect(String(buffer: bytes) == generic)
        #expect(EncodedAckArguments([.binary(ByteBuffer(bytes: [1]))]).text == nil)
    }
}
