public import NIOCore
import NIOWebSocket

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

    /// A final, unmasked text frame whose payload `writePayload` appends straight into the frame's own buffer (the
    /// header is filled in afterwards, in room kept in front): one allocation and no copy of the payload, for a
    /// sender that builds the text anyway. Also returns the payload, a view of the same storage.
    ///
    /// `writePayload` gets an empty buffer and must only append UTF-8 to it (a closure that moves its indices back
    /// gets the copying ``init(text:)`` instead).
    public static func text(
        capacity: Int,
        writePayload: (inout ByteBuffer) -> Void
    ) -> (frame: WebSocketEncodedFrame, payload: ByteBuffer) {
        let room = 10  // the longest header: 2 bytes, then a 64-bit length
        var buffer = ByteBufferAllocator().buffer(capacity: room + capacity)
        buffer.moveWriterIndex(forwardBy: room)
        buffer.moveReaderIndex(forwardBy: room)
        writePayload(&buffer)
        guard buffer.readerIndex == room, buffer.writerIndex >= room else {
            return (WebSocketEncodedFrame(text: buffer), buffer)
        }
        let length = buffer.readableBytes
        let start: Int
        switch length {
        case ..<126:
            start = room - 2
            buffer.setInteger(UInt8(length), at: start + 1)
        case ...Int(UInt16.max):
            start = room - 4
            buffer.setInteger(UInt8(126), at: start + 1)
            buffer.setInteger(UInt16(length), at: start + 2)
        default:
            start = 0
            buffer.setInteger(UInt8(127), at: start + 1)
            buffer.setInteger(UInt64(length), at: start + 2)
        }
        buffer.setInteger(UInt8(0x81), at: start)  // FIN + text
        let payload = buffer  // shares the storage (written before this copy: no copy-on-write)
        buffer.moveReaderIndex(to: start)
        return (WebSocketEncodedFrame(bytes: buffer), payload)
    }

    private init(bytes: ByteBuffer) { self.bytes = bytes }

    /// A final, unmasked frame with `opcode` (the connection's own pongs and close frames).
    init(control opcode: WebSocketOpcode, payload: ByteBuffer) {
        self.bytes = Self.encode(opcode: UInt8(webSocketOpcode: opcode), payload: payload)
    }

    /// The size of the payload.
    public var payloadCount: Int { bytes.readableBytes - Self.headerSize(for: bytes) }

    private static func encode(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
        var buffer = header(opcode: opcode, length: payload.readableBytes, reservingPayload: true)
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    /// The header of a final, unmasked frame with `opcode` and a payload of `length` bytes; with
    /// `reservingPayload`, in a buffer with room for the payload after it.
    static func header(opcode: UInt8, length: Int, reservingPayload: Bool = false) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(10 + (reservingPayload ? length : 0))
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
