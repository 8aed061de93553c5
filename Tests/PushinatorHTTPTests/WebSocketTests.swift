import HTTPTypes
import NIOCore
import PushinatorHTTP
import PushinatorTestSupport
import Testing

@Suite("WebSocket over sockets")
struct WebSocketTests {
    static let echoRouter = Router {
        Get("hello") { _, _ in "Hello!" }
        Get("echo") { _, _ in
            Response.webSocket(configuration: WebSocketConfiguration(maxMessageSize: 4096)) { socket in
                for await message in socket.messages { socket.send(message) }
            }
        }
        Get("private") { _, _ -> Response in throw HTTPError(.forbidden, message: "no entry") }
    }

    func connectEcho(_ server: TestServer) async throws -> RawClient {
        let client = try await RawClient.connect(port: server.port)
        let response = try await client.upgrade(path: "/echo")
        #expect(response.status == 101)
        #expect(response.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        return client
    }

    @Test func echoesText() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            try await client.sendFrame(opcode: 0x1, payload: Array("héllo".utf8))
            let frame = try await client.readFrame()
            #expect(frame.opcode == 0x1)
            #expect(frame.fin)
            #expect(!frame.masked)
            #expect(frame.text == "héllo")
            await client.close()
        }
    }

    @Test func echoesBinary() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            let payload = (0..<300).map { UInt8($0 % 256) }
            try await client.sendFrame(opcode: 0x2, payload: payload)
            let frame = try await client.readFrame()
            #expect(frame.opcode == 0x2)
            #expect(frame.payload == payload)
            await client.close()
        }
    }

    @Test func reassemblesFragmentedMessages() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            try await client.sendFrame(opcode: 0x1, payload: Array("frag".utf8), fin: false)
            try await client.sendFrame(opcode: 0x9, payload: Array("mid-ping".utf8))  // control frame in between
            try await client.sendFrame(opcode: 0x0, payload: Array("men".utf8), fin: false)
            try await client.sendFrame(opcode: 0x0, payload: Array("ted".utf8), fin: true)
            let pong = try await client.readFrame()
            #expect(pong.opcode == 0xA)
            #expect(pong.text == "mid-ping")
            let frame = try await client.readFrame()
            #expect(frame.opcode == 0x1)
            #expect(frame.text == "fragmented")
            await client.close()
        }
    }

    @Test func aNewMessageBeforeTheLastOneEndedClosesWith1002() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            try await client.sendFrame(opcode: 0x1, payload: Array("first".utf8), fin: false)
            try await client.sendFrame(opcode: 0x1, payload: Array("second".utf8))  // not a continuation
            let frame = try await client.readFrame()
            #expect(frame.opcode == 0x8)
            #expect(frame.closeCode == 1002)
            try await client.answerClose()
        }
    }

    @Test func messageOverLimitClosesWith1009() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            let half = [UInt8](repeating: 0x61, count: 3000)
            try await client.sendFrame(opcode: 0x1, payload: half, fin: false)
            try await client.sendFrame(opcode: 0x0, payload: half, fin: true)
            let frame = try await client.readFrame()
            #expect(frame.opcode == 0x8)
            #expect(frame.closeCode == 1009)
            try await client.answerClose()
        }
    }

    @Test func singleFrameOverLimitClosesWith1009() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            try await client.sendFrame(opcode: 0x2, payload: [UInt8](repeating: 1, count: 5000))
            let frame = try await client.readFrame()
            #expect(frame.closeCode == 1009)
            try await client.answerClose()
        }
    }

    @Test func pingGetsPong() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            try await client.sendFrame(opcode: 0x9, payload: [1, 2, 3])
            let frame = try await client.readFrame()
            #expect(frame.opcode == 0xA)
            #expect(frame.payload == [1, 2, 3])
            await client.close()
        }
    }

    @Test func closeHandshakeEchoesCodeAndCloses() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            try await client.sendFrame(opcode: 0x8, payload: [0x03, 0xE8])  // 1000
            let frame = try await client.readFrame()
            #expect(frame.opcode == 0x8)
            #expect(frame.closeCode == 1000)
            _ = try await client.readUntilClose()
        }
    }

    @Test func unmaskedFrameClosesWith1002() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            try await client.sendFrame(opcode: 0x1, payload: Array("bad".utf8), masked: false)
            let frame = try await client.readFrame()
            #expect(frame.closeCode == 1002)
            try await client.answerClose()
        }
    }

    @Test func frameWithAReservedBitClosesWith1002() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            let key: [UInt8] = [9, 8, 7, 6]
            let payload = Array("rsv1".utf8)
            // FIN, RSV1 (no extension was negotiated), text; masked
            var bytes: [UInt8] = [0x80 | 0x40 | 0x1, 0x80 | UInt8(payload.count)] + key
            bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
            try await client.send(bytes)
            let frame = try await client.readFrame()
            #expect(frame.closeCode == 1002)
            try await client.answerClose()
        }
    }

    @Test func framesPipelinedBehindTheHandshakeAreNotLost() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            // Handshake and a first frame in a single write.
            var bytes = Array(RawClient.upgradeRequest(path: "/echo").utf8)
            let key: [UInt8] = [1, 2, 3, 4]
            let payload = Array("early".utf8)
            bytes += [0x81, 0x80 | UInt8(payload.count)] + key
            bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
            try await client.send(bytes)
            #expect(try await client.readResponse().status == 101)
            #expect(try await client.readFrame().text == "early")
            await client.close()
        }
    }

    @Test func framesCutAcrossManyReadsAreReassembled() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            // a 16-bit length; pieces that end inside the first bytes, the length, the mask and the payload, sent
            // apart so that the server reads them one by one
            let key: [UInt8] = [9, 8, 7, 6]
            let payload = Array(String(repeating: "xyz", count: 100).utf8)
            let bytes = [0x81, 0x80 | 126, 1, 44] + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
            for (start, end) in [(0, 1), (1, 3), (3, 6), (6, 50), (50, bytes.count)] {
                try await client.send(Array(bytes[start..<end]))
                try await Task.sleep(for: .milliseconds(30))
            }
            #expect(try await client.readFrame().text == String(repeating: "xyz", count: 100))
            await client.close()
        }
    }

    @Test func aHeaderOverTheLimitClosesWith1009BeforeThePayload() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            // a 64-bit length of 1 GiB, and no payload: refused on the header alone
            try await client.send([0x82, 0x80 | 127, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4])
            #expect(try await client.readFrame().closeCode == 1009)
            try await client.answerClose()
        }
    }

    @Test func upgradeWorksAfterKeepAliveRequest() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "Hello!")
            #expect(try await client.upgrade(path: "/echo").status == 101)
            try await client.sendFrame(opcode: 0x1, payload: Array("second".utf8))
            #expect(try await client.readFrame().text == "second")
            await client.close()
        }
    }

    @Test func refusedUpgradeGetsRouteResponseAndCloses() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            let response = try await client.upgrade(path: "/private")
            #expect(response.status == 403)
            #expect(response.text == #"{"error":"no entry","status":403}"#)
            #expect(response.header("connection") == "close")
            _ = try await client.readUntilClose()
        }
    }

    @Test func upgradeToUnknownPathIs404() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            #expect(try await client.upgrade(path: "/nowhere").status == 404)
            _ = try await client.readUntilClose()
        }
    }

    @Test func plainRequestToWebSocketRouteIs400() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let response = try await request(server, "/echo")
            #expect(response.status == 400)
        }
    }

    @Test func badHandshakeVersionIs400() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send(
                "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
            )
            #expect(try await client.readResponse().status == 400)
            _ = try await client.readUntilClose()
        }
    }

    @Test func gracefulShutdownClosesWebSocketsWith1001() async throws {
        try await TestServer.with(Self.echoRouter) { (server: TestServer) async throws in
            let client = try await connectEcho(server)
            try await client.sendFrame(opcode: 0x1, payload: Array("hi".utf8))
            #expect(try await client.readFrame().text == "hi")
            await server.shutdown()
            let frame = try await client.readFrame()
            #expect(frame.closeCode == 1001)
            // The server waits for the client's answer before it closes the connection.
            try await client.answerClose()
        }
    }
}

extension RawClient {
    /// Answers the server's close frame and waits until the server closes the connection.
    func answerClose() async throws {
        try? await sendFrame(opcode: 0x8, payload: [0x03, 0xE8])
        _ = try await readUntilClose()
    }
}
