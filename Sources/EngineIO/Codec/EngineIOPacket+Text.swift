import NIOCore
import PushinatorJSON

extension EngineIOPacket {
    /// Decodes the text form of one packet: `<type digit><text>`, or base64 binary as `b<base64>` (v4) or
    /// `b<type digit><base64>` (v3).
    static func decodeText(_ text: ByteBuffer, version: EngineIOVersion) throws(EngineIOParseError) -> EngineIOPacket {
        var rest = text
        guard let first = rest.readInteger(as: UInt8.self) else {
            throw EngineIOParseError(.emptyPacket, "empty packet")
        }
        if first == UInt8(ascii: "b") {
            var type = EngineIOPacketType.message
            if version == .v3 {
                guard let digit = rest.readInteger(as: UInt8.self) else {
                    throw EngineIOParseError(.emptyPacket, "binary packet without a type")
                }
                guard let binaryType = EngineIOPacketType(digit: digit) else { throw .unknownType(digit) }
                type = binaryType
            }
            guard let bytes = Base64.decode(rest) else {
                throw EngineIOParseError(.invalidBase64, "binary packet is not valid base64")
            }
            return EngineIOPacket(type: type, payload: .binary(bytes))
        }
        guard let type = EngineIOPacketType(digit: first) else { throw .unknownType(first) }
        return EngineIOPacket(type: type, payload: .text(rest))
    }

    /// Appends the text form of this packet (binary payloads as base64).
    func writeText(to buffer: inout ByteBuffer, version: EngineIOVersion) {
        switch payload {
        case .text(let text):
            buffer.writeInteger(type.digit)
            buffer.writeImmutableBuffer(text)
        case .binary(let bytes):
            buffer.writeInteger(UInt8(ascii: "b"))
            if version == .v3 { buffer.writeInteger(type.digit) }
            Base64.encode(bytes, into: &buffer)
        }
    }

    /// The length of the text form in UTF-16 code units, as JavaScript's `String#length` counts it.
    func textLengthInUTF16(version: EngineIOVersion) -> Int {
        switch payload {
        case .text(let text):
            return 1 + UTF16Length.of(text)
        case .binary(let bytes):
            return (version == .v3 ? 2 : 1) + Base64.encodedCount(of: bytes.readableBytes)
        }
    }
}

/// Counts UTF-16 code units of UTF-8 text.
enum UTF16Length {
    /// Every byte that is not a continuation byte starts a scalar; four-byte scalars take two code units.
    static func of(_ text: ByteBuffer) -> Int {
        text.withUnsafeReadableBytes { bytes in
            var units = 0
            for byte in bytes where byte & 0xC0 != 0x80 {
                units += byte >= 0xF0 ? 2 : 1
            }
            return units
        }
    }
}
