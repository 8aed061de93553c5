import NIOCore

/// The v3 text polling payload: `<length>:<packet>` repeated, the length counting UTF-16 code units.
enum EngineIOPayloadV3Text {
    static func decode(
        _ body: ByteBuffer,
        into packets: inout [EngineIOPacket],
        limit: Int
    ) throws(EngineIOParseError) {
        let end = body.writerIndex
        var index = body.readerIndex
        while index < end {
            // Length digits up to the colon.
            var length = 0
            let digitsStart = index
            while index < end, let byte = body.getInteger(at: index, as: UInt8.self), byte != UInt8(ascii: ":") {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), index - digitsStart < 10 else {
                    throw EngineIOParseError(.invalidLength, "invalid length prefix at offset \(index - body.readerIndex)")
                }
                length = length * 10 + Int(byte &- UInt8(ascii: "0"))
                index += 1
            }
            guard index < end, index > digitsStart else {
                throw EngineIOParseError(.invalidLength, "missing length prefix at offset \(digitsStart - body.readerIndex)")
            }
            index += 1  // colon
            let packetStart = index
            index = try advance(body, from: index, to: end, units: length)
            guard packets.count < limit else { throw .tooManyPackets(limit) }
            if length > 0 {
                let slice = body.getSlice(at: packetStart, length: index - packetStart)!
                // `advance` only counts: overlong forms and surrogates are caught here
                guard String(validating: slice.readableBytesView, as: UTF8.self) != nil else {
                    throw EngineIOParseError(.invalidUTF8, "payload is not valid UTF-8")
                }
                packets.append(try EngineIOPacket.decodeText(slice, version: .v3))
            }
        }
    }

    /// Moves past `units` UTF-16 code units of UTF-8 text starting at `start`.
    private static func advance(
        _ body: ByteBuffer,
        from start: Int,
        to end: Int,
        units: Int
    ) throws(EngineIOParseError) -> Int {
        var index = start
        var remaining = units
        while remaining > 0 {
            guard index < end, let lead = body.getInteger(at: index, as: UInt8.self) else {
                throw EngineIOParseError(.invalidLength, "packet is shorter than its length prefix \(units)")
            }
            let (size, width): (Int, Int)
            switch lead {
            case 0..<0x80: (size, width) = (1, 1)
            case 0xC2..<0xE0: (size, width) = (2, 1)
            case 0xE0..<0xF0: (size, width) = (3, 1)
            case 0xF0..<0xF5: (size, width) = (4, 2)
            default: throw EngineIOParseError(.invalidUTF8, "payload is not valid UTF-8")
            }
            guard width <= remaining else {
                throw EngineIOParseError(.invalidLength, "length prefix \(units) splits a character")
            }
            guard index + size <= end else { throw EngineIOParseError(.invalidUTF8, "payload is not valid UTF-8") }
            for offset in 1..<size where body.getInteger(at: index + offset, as: UInt8.self)! & 0xC0 != 0x80 {
                throw EngineIOParseError(.invalidUTF8, "payload is not valid UTF-8")
            }
            index += size
            remaining -= width
        }
        return index
    }

    static func encode(_ packets: some Collection<EngineIOPacket>, into buffer: inout ByteBuffer) {
        if packets.isEmpty {
            buffer.writeStaticString("0:")
            return
        }
        for packet in packets {
            buffer.writeString(String(packet.textLengthInUTF16(version: .v3)))
            buffer.writeInteger(UInt8(ascii: ":"))
            packet.writeText(to: &buffer, version: .v3)
        }
    }
}
