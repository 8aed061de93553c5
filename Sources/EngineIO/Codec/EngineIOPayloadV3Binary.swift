import NIOCore

/// The v3 XHR2 binary polling payload. Each packet is a kind byte (`0x00` text, `0x01` binary), the decimal
/// digits of the data length as bytes 0–9, `0xFF`, then the data: the UTF-8 text form for text packets, or
/// the type byte followed by the bytes for binary packets.
enum EngineIOPayloadV3Binary {
    static func decode(
        _ body: ByteBuffer,
        into packets: inout [EngineIOPacket],
        limit: Int
    ) throws(EngineIOParseError) {
        var rest = body
        while let kind = rest.readInteger(as: UInt8.self) {
            guard kind <= 1 else {
                throw EngineIOParseError(.invalidLength, "invalid packet kind 0x\(String(kind, radix: 16)) in binary payload")
            }
            var length = 0
            var digits = 0
            while true {
                guard let byte = rest.readInteger(as: UInt8.self) else {
                    throw EngineIOParseError(.invalidLength, "unterminated length in binary payload")
                }
                if byte == 0xFF { break }
                guard byte <= 9, digits < 10 else {
                    throw EngineIOParseError(.invalidLength, "invalid length digit in binary payload")
                }
                length = length * 10 + Int(byte)
                digits += 1
            }
            guard digits > 0 else { throw EngineIOParseError(.invalidLength, "missing length in binary payload") }
            guard var data = rest.readSlice(length: length) else {
                throw EngineIOParseError(.invalidLength, "packet is shorter than its length prefix \(length)")
            }
            guard packets.count < limit else { throw .tooManyPackets(limit) }
            if kind == 0 {
                // a string packet is UTF-8 text, as a WebSocket text frame is: what is not cannot be relayed,
                // nor re-encoded with a UTF-16 length prefix
                guard String(validating: data.readableBytesView, as: UTF8.self) != nil else {
                    throw EngineIOParseError(.invalidUTF8, "string packet is not valid UTF-8 in binary payload")
                }
                packets.append(try EngineIOPacket.decodeText(data, version: .v3))
            } else {
                guard let byte = data.readInteger(as: UInt8.self) else {
                    throw EngineIOParseError(.emptyPacket, "empty binary packet")
                }
                guard let type = EngineIOPacketType(rawValue: byte) else { throw .unknownType(byte) }
                packets.append(EngineIOPacket(type: type, payload: .binary(data)))
            }
        }
    }

    static func encode(_ packets: some Collection<EngineIOPacket>, into buffer: inout ByteBuffer) {
        for packet in packets {
            switch packet.payload {
            case .text(let text):
                buffer.writeInteger(UInt8(0))
                writeLength(1 + text.readableBytes, into: &buffer)
                buffer.writeInteger(packet.type.digit)
                buffer.writeImmutableBuffer(text)
            case .binary(let bytes):
                buffer.writeInteger(UInt8(1))
                writeLength(1 + bytes.readableBytes, into: &buffer)
                buffer.writeInteger(packet.type.rawValue)
                buffer.writeImmutableBuffer(bytes)
            }
        }
    }

    private static func writeLength(_ length: Int, into buffer: inout ByteBuffer) {
        for digit in String(length).utf8 { buffer.writeInteger(digit &- UInt8(ascii: "0")) }
        buffer.writeInteger(UInt8(0xFF))
    }
}
