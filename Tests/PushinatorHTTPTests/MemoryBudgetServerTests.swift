import Foundation
import InMemoryLogging
import Logging
import NIOCore
import NIOPosix
import PushinatorHTTP
import PushinatorTestSupport
import Testing

/// What clients make the server hold is charged to the process-wide budget: request bodies, WebSocket messages
/// being received, outbound queues of clients that stopped reading. Each test has a budget of its own.
@Suite("Memory budget over sockets")
struct MemoryBudgetServerTests {
    /// `POST /echo` answers the body; `GET /echo` is a WebSocket echo whose message `burst` makes the server queue
    /// 256 KiB in one event-loop tick (the queue passes its 16 KiB mark before anything leaves).
    static func router(budget: MemoryBudget) -> Router {
        Router {
            Post("echo") { request, _ in request.body.buffer }
            Get("echo") { _, _ in
                Response.webSocket(
                    configuration: WebSocketConfiguration(
                        maxMessageSize: 1 << 20,
                        maxBufferedBytes: 16 << 10,
                        memoryBudget: budget
                    )
                ) { socket in
                    for await message in socket.messages {
                        guard case .text(let text) = message, String(buffer: text) == "burst" else {
                            socket.send(message)
                            continue
                        }
                        for _ in 0..<64 { socket.write(.binary(ByteBuffer(repeating: 7, count: 4096))) }
                        socket.flush()
                    }
                }
            }
        }
    }

    @Test func requestBodiesAreChargedAndABodyOverTheBudgetGets503() async throws {
        let budget = MemoryBudget(limit: 1000)
        let configuration = HTTPServerConfiguration(memoryBudget: budget)
        try await TestServer.with(Self.router(budget: budget), configuration: configuration) { (server: TestServer) async throws in
            // A body that stalls after 600 of its 800 bytes holds 600 bytes of the budget.
            let holder = try await RawClient.connect(port: server.port)
            try await holder.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\n" + String(repeating: "a", count: 600))
            try await waitUntil("the stalled body is charged") { budget.reserved == 600 }

            let refused = try await RawClient.connect(port: server.port)
            try await refused.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + String(repeating: "b", count: 500))
            let response = try await refused.readResponse()
            #expect(response.status == 503)
            #expect(response.header("content-type")?.hasPrefix("application/json") == true)
            #expect(String(decoding: response.body, as: UTF8.self).contains("memory budget"))
            _ = try await refused.readUntilClose()
            #expect(budget.refusals(for: .httpRequestBody) == 1)
            #expect(budget.reserved == 600)  // the refused body gave back what it had taken

            await holder.close()
            try await waitUntil("the stalled body's bytes are given back") { budget.reserved == 0 }
            let served = try await RawClient.connect(port: server.port)
            try await served.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + String(repeating: "c", count: 500))
            let echoed = try await served.readResponse()
            #expect(echoed.status == 200)
            #expect(echoed.body.count == 500)
            try await waitUntil("an answered body is given back") { budget.reserved == 0 }
            await served.close()
        }
    }

    @Test func webSocketMessageOverTheBudgetClosesWith1013() async throws {
        let budget = MemoryBudget(limit: 1000)
        try await TestServer.with(Self.router(budget: budget), configuration: .init(memoryBudget: budget)) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            #expect(try await client.upgrade(path: "/echo").status == 101)
            // A whole message within the budget is delivered, and its bytes given back.
            try await client.sendFrame(opcode: 0x1, payload: Array(String(repeating: "x", count: 700).utf8))
            #expect(try await client.readFrame().payload.count == 700)
            // Fragments are held until the last one: 600 + 500 do not fit.
            try await client.sendFrame(opcode: 0x1, payload: [UInt8](repeating: 0x61, count: 600), fin: false)
            try await waitUntil("the first fragment is charged") { budget.reserved == 600 }
            try await client.sendFrame(opcode: 0x0, payload: [UInt8](repeating: 0x61, count: 500), fin: true)
            let close = try await client.readFrame()
            #expect(close.opcode == 0x8)
            #expect(close.closeCode == 1013)
            #expect(budget.refusals(for: .webSocketMessage) == 1)
            try await waitUntil("the fragments' bytes are given back") { budget.reserved == 0 }
            await client.close()
        }
    }

    @Test func outboundQueueOfAClientThatFallsBehindIsChargedAndRefusalClosesWith1013() async throws {
        // The queue's mark (16 KiB) does not fit in an 8 KiB budget.
        let budget = MemoryBudget(limit: 8 << 10)
        try await TestServer.with(Self.router(budget: budget), configuration: .init(memoryBudget: budget)) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            #expect(try await client.upgrade(path: "/echo").status == 101)
            try await client.sendFrame(opcode: 0x1, payload: Array("burst".utf8))
            var close: RawFrame?
            for _ in 0..<100 {  // the frames queued before the mark, then the close
                let frame = try await client.readFrame()
                if frame.opcode == 0x8 { close = frame; break }
            }
            #expect(close?.closeCode == 1013)
            #expect(budget.refusals(for: .webSocketOutbound) == 1)
            try await waitUntil("nothing stays charged") { budget.reserved == 0 }
            await client.close()
        }
        // With room in the budget the same burst meets the slow-consumer policy instead (1008), and what was
        // charged while the client was behind is given back.
        let roomy = MemoryBudget(limit: 1 << 20)
        try await TestServer.with(Self.router(budget: roomy), configuration: .init(memoryBudget: roomy)) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            #expect(try await client.upgrade(path: "/echo").status == 101)
            try await client.sendFrame(opcode: 0x1, payload: Array("burst".utf8))
            var close: RawFrame?
            for _ in 0..<100 {
                let frame = try await client.readFrame()
                if frame.opcode == 0x8 { close = frame; break }
            }
            #expect(close?.closeCode == 1008)
            try await waitUntil("the queue's charge is given back") { roomy.reserved == 0 }
            #expect(roomy.refusedCount == 0)
            await client.close()
        }
    }

    @Test func answersQueuedForAClientThatStopsReadingAreChargedAndARefusalCloses() async throws {
        // The queue's mark (4 KiB) does not fit in a 1 KiB budget: the connection closes once it falls behind,
        // long before its write timeout.
        let budget = MemoryBudget(limit: 1024)
        let configuration = HTTPServerConfiguration(
            requestHeadTimeout: .seconds(120),
            idleTimeout: .seconds(120),
            maxQueuedResponseBytes: 4096,
            writeTimeout: .seconds(120),
            memoryBudget: budget
        )
        try await TestServer.with(Self.router(budget: budget), configuration: configuration) { (server: TestServer) async throws in
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_rcvbuf), value: 2048)
                .channelOption(.autoRead, value: false)
                .connect(host: "127.0.0.1", port: server.port).get()
            let requests = ByteBuffer(string: String(repeating: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "e", count: 1000), count: 100))
            for _ in 0..<400 where budget.refusals(for: .httpOutbound) == 0 && channel.isActive {
                channel.writeAndFlush(requests, promise: nil)
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(budget.refusals(for: .httpOutbound) == 1)
            try await waitUntil("the connection is closed", seconds: 30) {
                channel.writeAndFlush(ByteBuffer(string: "GET /x HTTP/1.1\r\n\r\n"), promise: nil)
                return !channel.isActive
            }
            try await waitUntil("nothing stays charged") { budget.reserved == 0 }
        }
    }
}
