import EngineIO
import NIOCore
import Testing

@Suite("Engine.IO v4 polling payloads")
struct EngineIOPollingV4Tests {
    let codec = EngineIOPollingCodec(version: .v4)

    @Test func decodesSpecExample() throws {
        let packets = try codec.decode("4hello\u{1E}4€\u{1E}bAQIDBA==")
        #expect(packets == [.message("hello"), .message("€"), .message(binary: ByteBuffer(bytes: [1, 2, 3, 4]))])
    }

    @Test func encodesSpecExample() {
        var buffer = ByteBuffer()
        let format = codec.encode(
            [.message("hello"), .message("€"), .message(binary: ByteBuffer(bytes: [1, 2, 3, 4]))],
            into: &buffer
        )
        #expect(String(buffer: buffer) == "4hello\u{1E}4€\u{1E}bAQIDBA==")
        #expect(format == .text)
        #expect(format.contentType == "text/plain; charset=UTF-8")
    }

    @Test func decodesSinglePacketsAndControlPackets() throws {
        #expect(try codec.decode("2") == [EngineIOPacket(type: .ping)])
        #expect(try codec.decode("3\u{1E}6\u{1E}1") == [EngineIOPacket(type: .pong), EngineIOPacket(type: .noop), EngineIOPacket(type: .close)])
        #expect(try codec.decode("4hello\u{1E}4world") == [.message("hello"), .message("world")])
    }

    @Test func decodesFromBufferWithReaderOffset() throws {
        var body = ByteBuffer(string: "junk4a\u{1E}4b")
        body.moveReaderIndex(forwardBy: 4)
        #expect(try codec.decode(body) == [.message("a"), .message("b")])
    }

    @Test func encodesEmptyListAsEmptyBody() {
        var buffer = ByteBuffer()
        codec.encode([EngineIOPacket](), into: &buffer)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [
        ("", EngineIOParseError.Code.emptyPacket),
        ("4a\u{1E}", .emptyPacket),
        ("\u{1E}4a", .emptyPacket),
        ("4a\u{1E}9", .unknownPacketType),
        ("b***", .invalidBase64),
    ])
    func rejectsMalformedPayloads(body: String, code: EngineIOParseError.Code) {
        #expect {
            try codec.decode(body)
        } throws: { error in
            (error as? EngineIOParseError)?.code == code
        }
    }

    @Test func enforcesPacketLimit() throws {
        let limited = EngineIOPollingCodec(version: .v4, configuration: .init(maxPackets: 2))
        #expect(try limited.decode("2\u{1E}2").count == 2)
        #expect(throws: EngineIOParseError(.tooManyPackets, "payload holds more than 2 packets")) {
            try limited.decode("2\u{1E}2\u{1E}2")
        }
    }

    @Test func enforcesSizeLimit() {
        let limited = EngineIOPollingCodec(version: .v4, configuration: .init(maxPayloadBytes: 4))
        #expect(throws: EngineIOParseError(.payloadTooLarge, "payload of 6 bytes exceeds the limit of 4")) {
            try limited.decode("4hello")
        }
    }
}
