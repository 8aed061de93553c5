import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import PushinatorHTTP
import PushinatorTestSupport
import Testing

@Suite("HTTP server against hostile clients")
struct ServerHardeningTests {
    static let router = Router {
        Get("x") { _, _ in "x" }
        Post("echo") { request, _ in request.body.buffer }
        Get("ws") { _, _ in Response.webSocket { _ in } }
    }

    @Test func silentConnectionIsClosedAtTheHeadTimeoutFromAccept() async throws {
        let configuration = HTTPServerConfiguration(requestHeadTimeout: .seconds(1), idleTimeout: .seconds(30))
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            let start = ContinuousClock.now  // before the connect: the deadline runs from the accept, after this
            let client = try await RawClient.connect(port: server.port, timeout: 5)
            _ = try await client.readUntilClose()  // never sends a byte
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(900))
            #expect(elapsed < .seconds(15))  // not the 30 s idle timeout (loose: CI machines are shared)
        }
    }

    @Test func acceptedConnectionsHaveNagleOff() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
            let channels = server.server.connections.all
            #expect(channels.count == 1)
            for channel in channels {  // asked of the kernel (getsockopt), not of NIO's options
                #expect(try await channel.getOption(.tcpOption(.tcp_nodelay)).get() != 0)
            }
            await client.close()
        }
    }

    /// With the default `maxQueuedResponseBytes` the water marks are not set (NIO's default is the same): this
    /// fails if NIO's default ever changes.
    @Test func acceptedConnectionsWithTheDefaultLimitHaveItsWaterMarks() async throws {
        try await TestServer.with(Self.router, configuration: HTTPServerConfiguration()) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
            #expect(HTTPServerConfiguration().maxQueuedResponseBytes == 64 * 1024)
            for channel in server.server.connections.all {
                let marks = try await channel.getOption(.writeBufferWaterMark).get()
                #expect(marks.low == 32 * 1024 && marks.high == 64 * 1024)
            }
            await client.close()
        }
    }

    /// The options an accepted connection gets from the child initializer (set synchronously there).
    @Test func acceptedConnectionsHaveTheirOptions() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxQueuedResponseBytes = 4096
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
            for channel in server.server.connections.all {
                #expect(try await channel.getOption(.maxMessagesPerRead).get() == 16)
                let marks = try await channel.getOption(.writeBufferWaterMark).get()
                #expect(marks.low == 2048 && marks.high == 4096)
            }
            await client.close()
        }
    }

    @Test func unknownTransferCodingGets501() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send(
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            )
            let response = try await client.readResponse()
            #expect(response.status == 501)
            _ = try await client.readUntilClose()
        }
    }

    @Test func chunkedAloneIsStillAccepted() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send(
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\n\r\n"
            )
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "hello")
            await client.close()
        }
    }

    @Test func hugeChunkExtensionGets400() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=")
            let filler = String(repeating: "a", count: 10_000)
            for _ in 0..<10 {  // 100 kB of extension, in several reads; the server may refuse (and close) early
                try? await client.send(filler)
                try await Task.sleep(for: .milliseconds(5))
            }
            try? await client.send("\r\nhello\r\n0\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 400)
            #expect(response.text.contains("Chunk extensions"))
            _ = try await client.readUntilClose()
        }
    }

    @Test func invalidWebSocketKeyGets400() async throws {
        #expect(HTTPConnectionStateMachine.isValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="))
        #expect(!HTTPConnectionStateMachine.isValidWebSocketKey("x"))
        #expect(!HTTPConnectionStateMachine.isValidWebSocketKey("dGhlIHNhbXBsZSBub25jZR=="))  // low bits set
        #expect(!HTTPConnectionStateMachine.isValidWebSocketKey("dGhlIHNhbXBsZSBub25j*Q=="))
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send(
                "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            #expect(try await client.readResponse().status == 400)
            let valid = try await RawClient.connect(port: server.port)
            #expect(try await valid.upgrade(path: "/ws").status == 101)
            await valid.close()
        }
    }

    @Test func clientThatNeverReadsIsClosedAfterTheWriteTimeout() async throws {
        // Long head and idle timeouts: only the write timeout may close the connection.
        let configuration = HTTPServerConfiguration(
            requestHeadTimeout: .seconds(120),
            idleTimeout: .seconds(120),
            maxQueuedResponseBytes: 4096,
            writeTimeout: .seconds(1)
        )
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            // A raw socket with a tiny receive buffer that is never read.
            let group = MultiThreadedEventLoopGroup.singleton
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.so_rcvbuf), value: 2048)
                .channelOption(.autoRead, value: false)
                .connect(host: "127.0.0.1", port: server.port).get()
            let request = ByteBuffer(string: String(repeating: "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", count: 1000))
            // Write until the server stops reading (our writes stop completing) or closes the connection.
            var sent = 0
            for _ in 0..<400 {
                let outcome = await Self.writeCompletes(request, on: channel, within: .milliseconds(500))
                guard outcome == true else { break }
                sent += 1
            }
            #expect(sent < 400, "the server kept reading requests whose answers were not read")
            // The server gives up on the client after the write timeout, counted once the kernel's send buffer is
            // full too (Linux grows it first): the close arrives as a reset, seen by our next write.
            let deadline = ContinuousClock.now + .seconds(60)
            while channel.isActive, ContinuousClock.now < deadline {
                channel.writeAndFlush(ByteBuffer(string: "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"), promise: nil)
                try await Task.sleep(for: .milliseconds(200))
            }
            // Intermittent: how long Linux keeps growing the server's send buffer (tcp_wmem autotuning) decides when
            // the write timeout starts, and on a loaded machine that can pass the 60 s above. The stop of reading
            // (checked above) and the bounded memory (Tests/Interop/test_hardening.py) are not intermittent.
            withKnownIssue("the close can come after 60 s on a loaded machine (kernel send-buffer growth)", isIntermittent: true) {
                #expect(!channel.isActive, "a client that never reads was kept open")
            }
            #expect(server.server.refusedConnections == 0)
        }
    }

    @Test func webSocketClientThatNeverReadsStopsBeingReadAndIsClosed() async throws {
        // Every message asks for 16 KiB back. Under the drop policy the slow-consumer policy never closes the
        // connection: only the stop of reading bounds what the client makes us do, and only the write timeout
        // closes it (the default policy, disconnect, closes with 1008 at the first write that does not fit).
        let received = NIOLockedValueBox(0)
        let reply = ByteBuffer(repeating: UInt8(ascii: "a"), count: 16 * 1024)
        let webSocket = WebSocketConfiguration(
            maxBufferedBytes: 64 * 1024,
            slowConsumerPolicy: .drop,
            writeTimeout: .seconds(3)
        )
        let router = Router {
            Get("flood") { _, _ in
                Response.webSocket(configuration: webSocket) { connection in
                    connection.delegate = Replier(received: received, reply: reply)
                }
            }
        }
        let configuration = HTTPServerConfiguration(requestHeadTimeout: .seconds(120), idleTimeout: .seconds(120))
        try await TestServer.with(router, configuration: configuration) { (server: TestServer) async throws in
            // A raw socket with a tiny receive buffer that is never read.
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_rcvbuf), value: 2048)
                .channelOption(.autoRead, value: false)
                .connect(host: "127.0.0.1", port: server.port).get()
            try await channel.writeAndFlush(ByteBuffer(string: RawClient.upgradeRequest(path: "/flood"))).get()
            // 25 masked 4000-byte text frames per write (100 kB; 40 MB in all, which a server that keeps reading
            // takes in well before the write timeout); all of them answered would be 400 kB per write.
            let mask: [UInt8] = [1, 2, 3, 4]
            let frame: [UInt8] = [0x81, 0x80 | 126, UInt8(4000 >> 8), UInt8(4000 & 0xFF)] + mask
                + (0..<4000).map { UInt8(ascii: "x") ^ mask[$0 % 4] }
            let batch = ByteBuffer(bytes: Array([[UInt8]](repeating: frame, count: 25).joined()))
            let residentBefore = Self.residentBytes()
            var sent = 0
            var stalled = false
            for _ in 0..<400 {
                let outcome = await Self.writeCompletes(batch, on: channel, within: .milliseconds(500))
                guard outcome == true else {
                    stalled = outcome == false  // our write waits: the server stopped reading (not: it closed)
                    break
                }
                sent += 1
            }
            #expect(stalled, "the server kept reading messages whose answers were not read (\(sent) writes)")
            // Memory is bounded: answering every message would queue 160 MB.
            #expect(Self.residentBytes() - residentBefore < 64 << 20)
            #expect(received.withLockedValue { $0 } > 0)
            // The server closes the connection at the write timeout (counted from when it fell behind: the kernel's
            // send buffer growing meanwhile lets it read a little more, but does not restart the timeout); the close
            // arrives as a reset, seen by our next write.
            let deadline = ContinuousClock.now + .seconds(60)
            while channel.isActive, ContinuousClock.now < deadline {
                channel.writeAndFlush(ByteBuffer(bytes: frame), promise: nil)
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(!channel.isActive, "a WebSocket client that never reads was kept open")
            #expect(server.server.refusedConnections == 0)
        }
    }

    @Test func perAddressLimitRefusesAndCountsExceptForExemptAddresses() async throws {
        var configuration = HTTPServerConfiguration(maxConnectionsPerAddress: 2, connectionLimitExemptions: [])
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            let first = try await RawClient.connect(port: server.port)
            let second = try await RawClient.connect(port: server.port)
            #expect(try await request(first, "/x") == 200)
            #expect(try await request(second, "/x") == 200)
            let third = try await RawClient.connect(port: server.port)
            _ = try await third.readUntilClose()
            #expect(server.server.refusedConnections == 1)
            await first.close()
            await second.close()
        }
        configuration.connectionLimitExemptions = [AddressRange("127.0.0.0/8")!]
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            var clients: [RawClient] = []
            for _ in 0..<4 { clients.append(try await RawClient.connect(port: server.port)) }
            for client in clients { #expect(try await request(client, "/x") == 200) }
            #expect(server.server.refusedConnections == 0)
            // the exemption found at the limit is remembered, and forgotten when the exemptions change
            server.server.connectionLimitExemptions = []
            let refused = try await RawClient.connect(port: server.port)
            _ = try await refused.readUntilClose()
            #expect(server.server.refusedConnections == 1)
            server.server.connectionLimitExemptions = [AddressRange("127.0.0.0/8")!]
            clients.append(try await RawClient.connect(port: server.port))
            #expect(try await request(clients[4], "/x") == 200)
            #expect(server.server.refusedConnections == 1)
            for client in clients { await client.close() }
        }
    }

    @Test func addressRangesMatchTheirAddresses() {
        let block = AddressRange("10.1.0.0/16")!
        #expect(block.contains("10.1.200.3"))
        #expect(block.contains("::ffff:10.1.0.9"))
        #expect(!block.contains("10.2.0.1"))
        #expect(!block.contains("garbage"))
        #expect(AddressRange("::1")!.contains("::1"))
        #expect(!AddressRange("::1")!.contains("::2"))
        #expect(AddressRange("fd00::/8")!.contains("fdab::1"))
        #expect(AddressRange("0.0.0.0/0")!.contains("203.0.113.9"))
        #expect(AddressRange("::/0")!.contains("203.0.113.9"))  // in its mapped form (a dual-stack listener's)
        #expect(AddressRange("10.0.0.0/33") == nil)
        #expect(AddressRange("nonsense") == nil)
        #expect(AddressRange.loopback.containsAddress("127.9.9.9"))
    }

    /// Answers every message with `reply`, on the event loop.
    final class Replier: WebSocketDelegate {
        let received: NIOLockedValueBox<Int>
        let reply: ByteBuffer
        init(received: NIOLockedValueBox<Int>, reply: ByteBuffer) {
            self.received = received
            self.reply = reply
        }
        func webSocket(_ connection: WebSocketConnection, didReceive message: WebSocketMessage) {
            received.withLockedValue { $0 += 1 }
            connection.send(binary: reply)
        }
        func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {}
    }

    /// The resident memory of this process (the server runs in it), from `/proc/self/status`.
    /// Writes `buffer` and waits at most `limit` for the write to complete: `true` when it did, `false` when it is
    /// still pending (the server stopped reading), `nil` when it failed (the server closed the connection).
    static func writeCompletes(_ buffer: ByteBuffer, on channel: any Channel, within limit: Duration) async -> Bool? {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(buffer, promise: promise)
        let written = promise.futureResult
        let outcome = try? await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await written.get(); return true }
            group.addTask { try await Task.sleep(for: limit); return false }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        return outcome
    }

    static func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    private func request(_ client: RawClient, _ path: String) async throws -> Int {
        try await client.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
        return try await client.readResponse().status
    }
}
