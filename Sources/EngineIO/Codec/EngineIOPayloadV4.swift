import NIOCore

/// The v4 polling payload: packets in text form joined by the record separator `0x1E`.
enum EngineIOPayloadV4 {
    static let separator: UInt8 = 0x1E

    static func decode(
        _ body: ByteBuffer,
        into packets: inout [EngineIOPacket],
        limit: Int
    ) throws(EngineIOParseError) {
        let view = body.readableBytesView
        var start = view.startIndex
        while true {
            let end = view[start...].firstIndex(of: separator) ?? view.endIndex
            guard packets.count < limit else { throw .tooManyPackets(limit) }
            let slice = body.getSlice(at: start, length: end - start)!
            packets.append(try EngineIOPacket.decodeText(slice, version: .v4))
            guard end < view.endIndex else { return }
            start = end + 1
        }
    }

    static func encode(_ packets: some Collection<EngineIOPacket>, into buffer: inout ByteBuffer) {
        var first = true
        for packet in packets {
            if !first { buffer.writeInteger(separator) }
            first = false
            packet.writeText(to: &buffer, version: .v4)
        }
    }
}
