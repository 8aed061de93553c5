import EngineIO
import NIOCore
import Testing

@Suite("Engine.IO WebSocket frames")
struct EngineIOWebSocketFrameTests {
    @Test(arguments: [
        ("4hello", EngineIOPacket.message("hello")),
        ("2probe", EngineIOPacket(type: .ping, text: "probe")),
        ("3probe", EngineIOPacket(type: .pong, text: "probe")),
        ("2", EngineIOPacket(type: .ping)),
        ("5", EngineIOPacket(type: .upgrade)),
        ("6", EngineIOPacket(type: .noop)),
        ("1", EngineIOPacket(type: .close)),
        ("4€", EngineIOPacket.message("€")),
        (#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
         EngineIOPacket(type: .open, text: #"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)),
    ])
    func decodesAndEncodesTextFrames(frame: String, packet: EngineIOPacket) throws {
        #expect(try EngineIOPacket(webSocketText: frame) == packet)
        #expect(try EngineIOPacket(webSocketText: ByteBuffer(string: frame), version: .v3) == packet)
        var buffer = ByteBuffer()
        packet.writeWebSocketFrame(to: &buffer)
        #expect(String(buffer: buffer) == frame)
        #expect(!packet.isBinary)
    }

    @Test func textPayloadIsASliceOfTheFrame() throws {
        var frame = ByteBuffer(string: "xx42[\"a\"]")
        frame.moveReaderIndex(forwardBy: 2)
        let packet = try EngineIOPacket(webSocketText: frame)
        #expect(packet.type == .message)
        #expect(packet.text == #"2["a"]"#)
    }

    @Test func v4BinaryFrameIsABinaryMessage() throws {
        let packet = try EngineIOPacket(webSocketBinary: ByteBuffer(bytes: [1, 2, 3, 4]))
        #expect(packet == .message(binary: ByteBuffer(bytes: [1, 2, 3, 4])))
        var buffer = ByteBuffer()
        packet.writeWebSocketFrame(to: &buffer)
        #expect(buffer == ByteBuffer(bytes: [1, 2, 3, 4]))
    }

    @Test func v3BinaryFrameStartsWithTypeByte() throws {
        let packet = try EngineIOPacket(webSocketBinary: ByteBuffer(bytes: [4, 1, 2, 3]), version: .v3)
        #expect(packet == .message(binary: ByteBuffer(bytes: [1, 2, 3])))
        var buffer = ByteBuffer()
        packet.writeWebSocketFrame(to: &buffer, version: .v3)
        #expect(buffer == ByteBuffer(bytes: [4, 1, 2, 3]))
    }

    @Test func base64TextFrames() throws {
        #expect(try EngineIOPacket(webSocketText: "bAQIDBA==") == .message(binary: ByteBuffer(bytes: [1, 2, 3, 4])))
        #expect(
            try EngineIOPacket(webSocketText: "b4AQIDBA==", version: .v3) == .message(binary: ByteBuffer(bytes: [1, 2, 3, 4]))
        )
    }

    @Test(arguments: [
        ("", EngineIOVersion.v4, EngineIOParseError.Code.emptyPacket),
        ("7", .v4, .unknownPacketType),
        ("x", .v4, .unknownPacketType),
        ("/", .v4, .unknownPacketType),
        ("b!!", .v4, .invalidBase64),
        ("b", .v3, .emptyPacket),
        ("b9AQ==", .v3, .unknownPacketType),
        ("b4A", .v3, .invalidBase64),
    ])
    func rejectsMalformedTextFrames(frame: String, version: EngineIOVersion, code: EngineIOParseError.Code) {
        #expect {
            try EngineIOPacket(webSocketText: frame, version: version)
        } throws: { error in
            (error as? EngineIOParseError)?.code == code
        }
    }

    @Test func rejectsMalformedV3BinaryFrames() {
        #expect(throws: EngineIOParseError(.emptyPacket, "empty binary packet")) {
            try EngineIOPacket(webSocketBinary: ByteBuffer(), version: .v3)
        }
        #expect(throws: EngineIOParseError(.unknownPacketType, "unknown packet type 0x9")) {
            try EngineIOPacket(webSocketBinary: ByteBuffer(bytes: [9, 1]), version: .v3)
        }
    }

    @Test func errorMessagesAreReadable() {
        #expect(throws: EngineIOParseError(.unknownPacketType, "unknown packet type 'x'")) {
            try EngineIOPacket(webSocketText: "xyz")
        }
    }
}
