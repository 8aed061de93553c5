import EngineIO
import NIOCore
import Testing

@Suite("Engine.IO v3 polling payloads")
struct EngineIOPollingV3Tests {
    let codec = EngineIOPollingCodec(version: .v3)

    @Test func decodesTextPayloadWithUTF16Lengths() throws {
        let packets = try codec.decode("6:4hello2:4€")
        #expect(packets == [.message("hello"), .message("€")])
    }

    @Test func countsAstralCharactersAsTwoUnits() throws {
        #expect(try codec.decode("3:4𝄞1:2") == [.message("𝄞"), EngineIOPacket(type: .ping)])
        var buffer = ByteBuffer()
        codec.encode([.message("𝄞"), .message("é")], into: &buffer)
        #expect(String(buffer: buffer) == "3:4𝄞2:4é")
    }

    @Test func binaryPayloadStringPacketWithInvalidUTF8IsRejected() {
        // found by Fuzz/FuzzEngineIOPolling: the packet was accepted, then re-encoded with a wrong UTF-16 length
        let body = ByteBuffer(bytes: [0x00, 0x06, 0xFF, 0x34, 0x92, 0x65, 0x6C, 0x01, 0x00])
        #expect(throws: EngineIOParseError.self) { try codec.decode(body) }
    }

    @Test func textPayloadWithOverlongUTF8IsRejected() {
        // found by Fuzz/FuzzEngineIOPolling: `e0 82 ac` (an overlong euro sign) passed the length walk
        let body = ByteBuffer(bytes: Array("6:4hetlo2:4".utf8) + [0xE0, 0x82, 0xAC] + Array("10:b4aQIDBA==".utf8))
        #expect(throws: EngineIOParseError.self) { try codec.decode(body) }
    }

    @Test func encodesTextPayload() {
        var buffer = ByteBuffer()
        let format = codec.encode([.message("hello"), .message("€")], into: &buffer)
        #expect(String(buffer: buffer) == "6:4hello2:4€")
        #expect(format == .text)
    }

    @Test func binaryInTextModeIsBase64WithType() throws {
        var buffer = ByteBuffer()
        let format = codec.encode(
            [.message("hello"), .message(binary: ByteBuffer(bytes: [1, 2, 3, 4]))],
            into: &buffer,
            supportsBinary: false
        )
        #expect(String(buffer: buffer) == "6:4hello10:b4AQIDBA==")
        #expect(format == .text)
        #expect(try codec.decode(buffer) == [.message("hello"), .message(binary: ByteBuffer(bytes: [1, 2, 3, 4]))])
    }

    @Test func encodesEmptyListLikeTheReference() {
        var buffer = ByteBuffer()
        codec.encode([EngineIOPacket](), into: &buffer)
        #expect(String(buffer: buffer) == "0:")
    }

    @Test func skipsZeroLengthPackets() throws {
        #expect(try codec.decode("0:2:4a") == [.message("a")])
    }

    @Test func encodesXHR2BinaryPayload() throws {
        var buffer = ByteBuffer()
        let format = codec.encode([.message("hello"), .message(binary: ByteBuffer(bytes: [1, 2, 3, 4]))], into: &buffer)
        #expect(format == .binary)
        #expect(format.contentType == "application/octet-stream")
        let expected: [UInt8] = [0x00, 6, 0xFF] + Array("4hello".utf8) + [0x01, 5, 0xFF, 4, 1, 2, 3, 4]
        #expect(buffer == ByteBuffer(bytes: expected))
        #expect(try codec.decode(buffer) == [.message("hello"), .message(binary: ByteBuffer(bytes: [1, 2, 3, 4]))])
    }

    @Test func xhr2LengthsCountUTF8BytesAndUseSeveralDigits() throws {
        let text = String(repeating: "€", count: 5)  // 15 bytes, "4" prefix makes 16
        var buffer = ByteBuffer()
        codec.encode([.message(text), .message(binary: ByteBuffer(bytes: [9]))], into: &buffer)
        #expect(buffer.getBytes(at: 0, length: 4) == [0x00, 1, 6, 0xFF])
        #expect(try codec.decode(buffer) == [.message(text), .message(binary: ByteBuffer(bytes: [9]))])
    }

    @Test(arguments: [
        ("6:4hell", EngineIOParseError.Code.invalidLength),
        (":4a", .invalidLength),
        ("x:4a", .invalidLength),
        ("2", .invalidLength),
        ("1:a", .unknownPacketType),
        ("1:4a", .invalidLength),
        ("2:9a", .unknownPacketType),
        ("1:4𝄞", .invalidLength),
        ("5:b4A!A", .invalidBase64),
        ("12345678901:4", .invalidLength),
    ])
    func rejectsMalformedTextPayloads(body: String, code: EngineIOParseError.Code) {
        #expect {
            try codec.decode(body)
        } throws: { error in
            (error as? EngineIOParseError)?.code == code
        }
    }

    @Test func rejectsInvalidUTF8InTextPayload() {
        #expect {
            try codec.decode(ByteBuffer(bytes: Array("2:4".utf8) + [0xFF]))
        } throws: { error in
            (error as? EngineIOParseError)?.code == .invalidUTF8
        }
    }

    @Test(arguments: [
        [UInt8]([0x00, 2, 0xFF, 0x34]),
        [0x00, 0xFF, 0x34],
        [0x00, 1],
        [0x00, 1, 0x05, 0xFF, 0x34],
        [0x01, 1, 0xFF],
        [0x01, 2, 0xFF, 9, 1],
        [0x00, 1, 0xFF, 0x34, 0x07],
    ])
    func rejectsMalformedBinaryPayloads(bytes: [UInt8]) {
        #expect(throws: EngineIOParseError.self) { try codec.decode(ByteBuffer(bytes: bytes)) }
    }

    @Test func enforcesPacketLimitInBothFormats() {
        let limited = EngineIOPollingCodec(version: .v3, configuration: .init(maxPackets: 1))
        #expect(throws: EngineIOParseError(.tooManyPackets, "payload holds more than 1 packets")) {
            try limited.decode("1:21:2")
        }
        #expect(throws: EngineIOParseError.self) {
            try limited.decode(ByteBuffer(bytes: [0x00, 1, 0xFF, 0x32, 0x00, 1, 0xFF, 0x32]))
        }
    }
}
