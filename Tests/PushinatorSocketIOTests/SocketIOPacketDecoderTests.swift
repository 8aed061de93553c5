import NIOCore
import PushinatorJSON
import PushinatorSocketIO
import Testing

@Suite("Socket.IO packet decoding")
struct SocketIOPacketDecoderTests {
    static func decodeOne(_ text: String) throws -> SocketIOPacket? {
        var decoder = SocketIOPacketDecoder()
        return try decoder.decode(text: text)
    }

    static func decodeError(_ text: String, _ decoder: inout SocketIOPacketDecoder) -> SocketIOParseError? {
        do {
            _ = try decoder.decode(text: ByteBuffer(string: text))
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        ("0", SocketIOPacket(type: .connect)),
        (#"0/admin,{"token":"123"}"#, SocketIOPacket(type: .connect, namespace: "/admin", data: ["token": "123"])),
        ("0/admin,", SocketIOPacket(type: .connect, namespace: "/admin")),
        ("0/admin", SocketIOPacket(type: .connect, namespace: "/admin")),
        ("1", SocketIOPacket(type: .disconnect)),
        ("1/admin,", SocketIOPacket(type: .disconnect, namespace: "/admin")),
        (#"2["hello","world"]"#, SocketIOPacket.event("hello", ["world"])),
        (#"2/admin,12["a"]"#, SocketIOPacket.event("a", namespace: "/admin", ackID: 12)),
        (#"2[42,"x"]"#, SocketIOPacket(type: .event, data: [42, "x"])),
        (#"31["ok"]"#, SocketIOPacket.ack(1, ["ok"])),
        ("3/admin,13[]", SocketIOPacket.ack(13, namespace: "/admin")),
        (#"4{"message":"Invalid namespace"}"#, SocketIOPacket(type: .connectError, data: ["message": "Invalid namespace"])),
        (#"4"boom""#, SocketIOPacket(type: .connectError, data: "boom")),
        (#"50-["e"]"#, SocketIOPacket(type: .binaryEvent, data: ["e"])),
    ])
    func decodesGoldenStrings(text: String, expected: SocketIOPacket) throws {
        #expect(try Self.decodeOne(text) == expected)
    }

    @Test func eventNamedByAnInfiniteNumberIsRejected() {
        // found by Fuzz/FuzzSocketIODecoder: accepted, then encoded again as `2[null]`, which is not an event
        var decoder = SocketIOPacketDecoder()
        #expect(throws: SocketIOParseError.self) { try decoder.decode(text: "236[-30069e832]") }
    }

    @Test func decodesFromByteBufferSlice() throws {
        var message = ByteBuffer(string: #"42["hello",1]"#)
        message.moveReaderIndex(forwardBy: 1)  // the Engine.IO prefix
        var decoder = SocketIOPacketDecoder()
        #expect(try decoder.decode(text: message) == SocketIOPacket.event("hello", [1]))
    }

    @Test func reassemblesBinaryEvent() throws {
        var decoder = SocketIOPacketDecoder()
        #expect(try decoder.decode(text: #"51-["hello",{"_placeholder":true,"num":0}]"#) == nil)
        #expect(decoder.isAwaitingAttachments)
        let packet = try decoder.decode(binary: ByteBuffer(bytes: [1, 2, 3]))
        #expect(packet == SocketIOPacket(type: .binaryEvent, data: ["hello", .binary(ByteBuffer(bytes: [1, 2, 3]))]))
        #expect(!decoder.isAwaitingAttachments)
    }

    @Test func reassemblesBinaryAckWithPlaceholdersOutOfOrder() throws {
        var decoder = SocketIOPacketDecoder()
        let text = #"62-/admin,456[{"_placeholder":true,"num":1},{"k":{"_placeholder":true,"num":0}}]"#
        #expect(try decoder.decode(text: text) == nil)
        #expect(try decoder.decode(binary: ByteBuffer(bytes: [0])) == nil)
        let packet = try decoder.decode(binary: ByteBuffer(bytes: [1]))
        #expect(packet?.type == .binaryAck)
        #expect(packet?.namespace == "/admin")
        #expect(packet?.ackID == 456)
        #expect(packet?.data == [.binary(ByteBuffer(bytes: [1])), ["k": .binary(ByteBuffer(bytes: [0]))]])
    }

    @Test func roundTripsThroughEncoder() throws {
        let packets: [SocketIOPacket] = [
            SocketIOPacket(type: .connect, namespace: "/a", data: ["token": "t", "n": 1.5]),
            SocketIOPacket.event("msg", ["x", ["nested": [true, nil]]], namespace: "/chat", ackID: 7),
            SocketIOPacket.event("bin", [.binary(ByteBuffer(bytes: [1])), ["b": .binary(ByteBuffer(bytes: [2, 3]))]]),
            SocketIOPacket.ack(9, [.binary(ByteBuffer(bytes: [4]))], namespace: "/n"),
        ]
        for packet in packets {
            var buffer = ByteBuffer()
            let attachments = packet.encode(into: &buffer)
            var decoder = SocketIOPacketDecoder()
            var decoded = try decoder.decode(text: buffer)
            for attachment in attachments { decoded = try decoder.decode(binary: attachment) }
            var expected = packet
            if !attachments.isEmpty { expected.type = packet.type == .event ? .binaryEvent : .binaryAck }
            #expect(decoded == expected)
        }
    }

    @Test(arguments: [
        ("", SocketIOParseError.Code.emptyPacket, "empty packet"),
        ("abc", .unknownPacketType, "unknown packet type 'a'"),
        ("7", .unknownPacketType, "unknown packet type '7'"),
        ("2{}", .invalidPayload, "invalid payload for EVENT: must be a non-empty array (found object)"),
        (#"2abc["a"]"#, .invalidJSON, "invalid JSON payload: unexpected character 'a' at offset 0"),
        ("2[", .invalidJSON, "invalid JSON payload: unexpected end of input at offset 1"),
        ("2", .invalidPayload, "invalid payload for EVENT: must be a non-empty array"),
        ("2[]", .invalidPayload, "invalid payload for EVENT: must be a non-empty array (found array)"),
        (#"2["connect"]"#, .invalidPayload, "invalid payload for EVENT: uses the reserved event name \"connect\" (found array)"),
        (#"2["disconnecting"]"#, .invalidPayload, "invalid payload for EVENT: uses the reserved event name \"disconnecting\" (found array)"),
        ("2[null]", .invalidPayload, "invalid payload for EVENT: must start with an event name (found array)"),
        ("0[]", .invalidPayload, "invalid payload for CONNECT: must be an object or absent (found array)"),
        (#"0"x""#, .invalidPayload, "invalid payload for CONNECT: must be an object or absent (found string)"),
        ("1{}", .invalidPayload, "invalid payload for DISCONNECT: must be absent (found object)"),
        ("4[]", .invalidPayload, "invalid payload for CONNECT_ERROR: must be a string or an object (found array)"),
        ("3{}", .invalidPayload, "invalid payload for ACK: must be an array (found object)"),
        ("3[]", .invalidAckID, "ACK packet without an ack id"),
        ("299999999999999999999[\"a\"]", .invalidAckID, "ack id is too large"),
        (#"5["a"]"#, .invalidAttachmentCount, "illegal attachments"),
        (#"5-["a"]"#, .invalidAttachmentCount, "illegal attachments"),
        (#"5x-["a"]"#, .invalidAttachmentCount, "illegal attachments"),
        ("51", .invalidAttachmentCount, "illegal attachments"),
        (#"511-["a"]"#, .tooManyAttachments, "too many attachments: 11 (at most 10)"),
        (#"51-["a"]"#, .invalidPlaceholder, "packet announces 1 attachment(s) but holds 0 placeholder(s)"),
        (#"51-["a",{"_placeholder":true,"num":1}]"#, .invalidPlaceholder, "placeholder num 1 is out of range for 1 attachment(s)"),
        (#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#, .invalidPlaceholder, "placeholder num 0 is used twice"),
        (#"51-["a",{"_placeholder":true,"num":"0"}]"#, .invalidPlaceholder, "placeholder without a valid num"),
        (#"51-["a",{"_placeholder":true,"num":-1}]"#, .invalidPlaceholder, "placeholder without a valid num"),
        (#"50-["a",{"_placeholder":true,"num":0}]"#, .invalidPlaceholder, "placeholder num 0 is out of range for 0 attachment(s)"),
    ])
    func rejectsMalformedText(text: String, code: SocketIOParseError.Code, message: String) {
        var decoder = SocketIOPacketDecoder()
        let error = Self.decodeError(text, &decoder)
        #expect(error?.code == code)
        #expect(error?.message == message)
        #expect(!decoder.isAwaitingAttachments)
    }

    @Test func rejectsInvalidUTF8Namespace() {
        var decoder = SocketIOPacketDecoder()
        #expect(throws: SocketIOParseError.self) {
            try decoder.decode(text: ByteBuffer(bytes: [0x30, 0x2F, 0xFF, 0x2C]))
        }
    }

    @Test func rejectsBinaryWhenNoneExpected() {
        var decoder = SocketIOPacketDecoder()
        #expect(throws: SocketIOParseError(.unexpectedBinary, "received a binary attachment while none was expected")) {
            try decoder.decode(binary: ByteBuffer(bytes: [1]))
        }
    }

    @Test func rejectsTextWhileAwaitingAttachmentsAndResets() throws {
        var decoder = SocketIOPacketDecoder()
        _ = try decoder.decode(text: #"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        _ = try decoder.decode(binary: ByteBuffer(bytes: [1]))
        #expect(throws: SocketIOParseError(.unexpectedText, "received a text packet while 1 attachment(s) were awaited")) {
            try decoder.decode(text: #"2["b"]"#)
        }
        #expect(!decoder.isAwaitingAttachments)
        #expect(try decoder.decode(text: #"2["b"]"#) == SocketIOPacket.event("b"))
    }

    @Test func honoursConfiguredAttachmentLimit() throws {
        var decoder = SocketIOPacketDecoder(configuration: .init(maxAttachments: 1))
        #expect(throws: SocketIOParseError.self) {
            try decoder.decode(text: #"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        }
    }

    @Test func resetDropsPendingPacket() throws {
        var decoder = SocketIOPacketDecoder()
        _ = try decoder.decode(text: #"51-["a",{"_placeholder":true,"num":0}]"#)
        decoder.reset()
        #expect(!decoder.isAwaitingAttachments)
        #expect(throws: SocketIOParseError.self) { try decoder.decode(binary: ByteBuffer(bytes: [1])) }
    }
}
