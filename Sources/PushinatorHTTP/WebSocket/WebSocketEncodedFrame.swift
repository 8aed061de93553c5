public import NIOCore

/// A complete server-to-client WebSocket frame (header and payload), encoded once and written as is.
///
/// Broadcasting the same message to thousands of connections then costs no encoding and no allocation per
/// connection: every connection writes the same bytes (see ``WebSocketConnection/write(_:)-(WebSocketEncodedFrame)``).
public struct WebSocketEncodedFrame: Sendable, Hashable {
    /// The frame as it goes on the wire.
    public let bytes: ByteBuffer

    /// A final, unmasked text frame carrying `payload` (which must be UTF-8).
    public init(text payload: ByteBuffer) { self.bytes = Self.encode(opcode: 0x1, payload: payload) }

    /// A final, unmasked binary frame carrying `payload`.
    public init(binary payload: ByteBuffer) { self.bytes = Self.encode(opcode: 0x2, payload: payload) }

    /// The size of the payload.
    public var payloadCount: Int { bytes.readableBytes - Self.headerSize(for: bytes) }

    private static func encode(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
        let length = payload.readableBytes
        var buffer = ByteBuffer()
        buffer.reserveCapacity(length + 10)
        buffer.writeInteger(0x80 | opcode)  // FIN + opcode
        switch length {
        case ..<126:
            buffer.writeInteger(UInt8(length))
        case ...Int(UInt16.max):
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        default:
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    private static func headerSize(for bytes: ByteBuffer) -> Int {
        switch bytes.getInteger(at: bytes.readerIndex + 1, as: UInt8.self).map({ $0 & 0x7F }) {
        case 126: 4
        case 127: 10
        default: 2
        }
    }
}
