/// A parsed WebSocket frame from the server.
package struct RawFrame: Sendable {
    package var fin: Bool
    package var opcode: UInt8
    package var masked: Bool
    package var payload: [UInt8]

    package var text: String { String(decoding: payload, as: UTF8.self) }
    /// The close code of a close frame.
    package var closeCode: UInt16? {
        opcode == 0x8 && payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
    }

    package static func parse(_ bytes: [UInt8]) -> (RawFrame, Int)? {
        guard bytes.count >= 2 else { return nil }
        let fin = bytes[0] & 0x80 != 0
        let opcode = bytes[0] & 0x0F
        let masked = bytes[1] & 0x80 != 0
        var length = Int(bytes[1] & 0x7F)
        var position = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            position = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
            position = 10
        }
        var key: [UInt8] = []
        if masked {
            guard bytes.count >= position + 4 else { return nil }
            key = Array(bytes[position..<position + 4])
            position += 4
        }
        guard bytes.count >= position + length else { return nil }
        var payload = Array(bytes[position..<position + length])
        if masked { for index in payload.indices { payload[index] ^= key[index % 4] } }
        return (RawFrame(fin: fin, opcode: opcode, masked: masked, payload: payload), position + length)
    }
}
