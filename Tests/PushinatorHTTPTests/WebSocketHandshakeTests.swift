import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import PushinatorHTTP

/// The server's part of the opening handshake: its checks, the accept value, the `101` it writes and the switch of
/// an `EmbeddedChannel`'s pipeline to WebSocket.
@Suite("WebSocket handshake")
struct WebSocketHandshakeTests {

    static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="  // RFC 6455 1.3
    static let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    static func head(_ fields: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws", headers: HTTPHeaders(fields))
    }

    static func key(_ fields: [(String, String)]) -> String? {
        WebSocketHandshake.key(of: head(fields)).map(String.init)
    }

    // MARK: Checks

    @Test func oneKeyAndVersion13AreAccepted() {
        #expect(Self.key([("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "13")]) == Self.sampleKey)
        // Names in any case, blanks around the values trimmed, an empty element dropped (as NIO's upgrader did).
        #expect(Self.key([("sec-websocket-key", " \(Self.sampleKey)\t"), ("SEC-WEBSOCKET-VERSION", "13,")]) == Self.sampleKey)
    }

    @Test func anotherVersionOrNoneIsRefused() {
        #expect(Self.key([("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "8")]) == nil)
        #expect(Self.key([("Sec-WebSocket-Key", Self.sampleKey)]) == nil)
        #expect(Self.key([("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "")]) == nil)
    }

    @Test func moreThanOneKeyOrVersionIsRefused() {
        #expect(Self.key([("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "13, 13")]) == nil)
        #expect(Self.key([("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "13, ")]) == nil)
        #expect(
            Self.key([
                ("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Version", "13"),
            ]) == nil
        )
        #expect(
            Self.key([
                ("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Key", Self.sampleKey),
                ("Sec-WebSocket-Version", "13"),
            ]) == nil
        )
        #expect(Self.key([("Sec-WebSocket-Version", "13")]) == nil)
    }

    @Test func theUpgradeFieldMustListWebsocket() {
        func asks(_ fields: [(String, String)]) -> Bool { WebSocketHandshake.asksForWebSocket(Self.head(fields)) }
        #expect(asks([("Upgrade", "websocket")]))
        #expect(asks([("upgrade", "h2c, WebSocket ")]))
        #expect(asks([("Upgrade", "h2c"), ("UPGRADE", ",websocket")]))
        #expect(!asks([("Upgrade", "h2c")]))
        #expect(!asks([("Upgrade", "websockets")]))
        #expect(!asks([("X-Upgrade", "websocket")]))
        #expect(asks([("Upgrade", "websoc\u{212A}et")]))  // the Kelvin sign lower-cases to k, as before
    }

    @Test func theAcceptValueIsRFC6455sSample() {
        var buffer = ByteBuffer()
        WebSocketHandshake.writeAcceptValue(for: Substring(Self.sampleKey), into: &buffer)
        #expect(String(buffer: buffer) == Self.sampleAccept)
    }

    @Test func the101CarriesTheRoutesFieldsThenTheHandshakes() {
        var buffer = ByteBuffer()
        var fields = HTTPFields()
        fields.append(HTTPField(name: .upgrade, value: "other"))
        fields.append(HTTPField(name: .connection, value: "x"))
        fields.append(HTTPField(name: HTTPField.Name("X-Extra")!, value: "1"))
        HTTPResponseHeadWriter.writeWebSocketAccept(fields: fields, key: Substring(Self.sampleKey), into: &buffer)
        #expect(
            String(buffer: buffer)
                == "HTTP/1.1 101 Switching Protocols\r\nX-Extra: 1\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Accept: \(Self.sampleAccept)\r\nConnection: upgrade\r\n\r\n"
        )
    }

    // MARK: On a channel

    /// Records the messages of the upgraded connection.
    final class Recorder: WebSocketDelegate, @unchecked Sendable {  // used on the embedded loop only
        var messages: [String] = []
        var upgrades = 0
        func webSocket(_ connection: WebSocketConnection, didReceive message: WebSocketMessage) {
            messages.append(message.string ?? "?")
        }
        func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {}
    }

    static func make() throws -> (EmbeddedChannel, Recorder) {
        let recorder = Recorder()
        let router = Router {
            Get("ws") { _, _ in
                Response.webSocket(headers: [HTTPField.Name("X-Route")!: "yes"]) { connection in
                    recorder.upgrades += 1
                    connection.delegate = recorder
                }
            }
        }
        return (try HTTPConnectionHandlerTests.make(responder: router).channel, recorder)
    }

    static func handshake(key: String = sampleKey, version: String = "13") -> String {
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: \(version)\r\n\r\n"
    }

    /// A masked text frame, as a client sends it.
    static func clientTextFrame(_ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let mask: [UInt8] = [7, 1, 2, 3]
        return [0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    }

    @Test func aGoodHandshakeSwitchesAndBytesBehindItReachTheFrameDecoder() throws {
        let (channel, recorder) = try Self.make()
        var bytes = ByteBuffer(string: Self.handshake())
        bytes.writeBytes(Self.clientTextFrame("hi"))  // in the same read as the handshake
        try channel.writeInbound(bytes)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)  // the 101 waits for the flush batch
        channel.embeddedEventLoop.run()
        let text = try HTTPConnectionHandlerTests.output(channel)
        #expect(
            text == "HTTP/1.1 101 Switching Protocols\r\nX-Route: yes\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Accept: \(Self.sampleAccept)\r\nConnection: upgrade\r\n\r\n"
        )
        #expect(recorder.upgrades == 1)
        #expect(recorder.messages == ["hi"])
        let sync = channel.pipeline.syncOperations
        #expect(throws: (any Error).self) { try sync.handler(type: HTTPConnectionHandler.self) }
        #expect(throws: (any Error).self) { try sync.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) }
        try channel.writeInbound(ByteBuffer(bytes: Self.clientTextFrame("again")))
        #expect(recorder.messages == ["hi", "again"])
    }

    @Test func aBadVersionIs400AndTheConnectionCloses() throws {
        let (channel, recorder) = try Self.make()
        try channel.writeInbound(ByteBuffer(string: Self.handshake(version: "8")))
        channel.embeddedEventLoop.run()
        let text = try HTTPConnectionHandlerTests.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 400"))
        #expect(text.contains("Invalid WebSocket handshake"))
        #expect(recorder.upgrades == 0)
        #expect(!channel.isActive)
    }

    @Test func aMissingOrShortKeyIs400() throws {
        for request in [
            Self.handshake(key: "dGhlIHNhbXBsZQ=="),  // 10 bytes
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ] {
            let (channel, recorder) = try Self.make()
            try channel.writeInbound(ByteBuffer(string: request))
            channel.embeddedEventLoop.run()
            let text = try HTTPConnectionHandlerTests.output(channel)
            #expect(text.hasPrefix("HTTP/1.1 400"))
            #expect(text.contains("Sec-WebSocket-Key must be base64 of 16 bytes"))
            #expect(recorder.upgrades == 0)
        }
    }
}
