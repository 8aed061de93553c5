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

/// Sits right after the TLS/transport end of a WebSocket pipeline (before the frame encoder): a
/// ``WebSocketConnection`` writes ``WebSocketEncodedFrame`` bytes through its context, skipping the frame encoder.
///
/// Every read request passes it on its way to the socket, so it is also where reads are held back while the client
/// is behind on the frames queued for it (the connection's state decides).
final class EncodedFrameWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The connection whose state gates reads.
    weak var connection: WebSocketConnection?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if connection?.readRequested() ?? true { context.read() }
    }
}

/// The connections of one event-loop thread that asked for a flush during the current tick.
///
/// One task per tick flushes them all, instead of one task per connection.
final class FlushBatch: @unchecked Sendable {
    // Only touched on the thread that owns it.
    private var pending: [WebSocketConnection] = []
    private var scheduled = false

    func add(_ connection: WebSocketConnection, on eventLoop: any EventLoop) {
        pending.append(connection)
        guard !scheduled else { return }
        scheduled = true
        eventLoop.execute { self.flushAll() }
    }

    private func flushAll() {
        scheduled = false
        let connections = pending
        pending.removeAll(keepingCapacity: true)
        for connection in connections { connection.flushNow() }
    }
}
