import NIOCore
import NIOWebSocket

/// Cuts the frames a client sends out of the bytes read from its connection (RFC 6455 5.2).
///
/// ``WebSocketChannelHandler`` calls it straight from `channelRead`, in place of NIO's `WebSocketFrameDecoder`
/// behind a `ByteToMessageHandler`: an upgraded connection has one handler less in its pipeline (and one less
/// again for the frame encoder, whose few frames ``WebSocketEncodedFrame`` now encodes), and a frame takes no
/// pipeline hop between decoding and handling. The caller keeps the bytes of a frame that has not fully arrived
/// and calls again with more.
///
/// A frame's header is checked as soon as it is complete, before its payload is waited for: a payload over the
/// limit and a fragmented or long control frame fail at once, so a client cannot make the server buffer them.
enum WebSocketFrameParser {
    /// A frame header no client may send; the connection closes with ``closeCode`` and reads nothing more.
    enum Failure: Error, Equatable {
        /// A payload longer than the limit: 1009.
        case frameTooLarge
        /// A control frame without its FIN bit, or with more than 125 bytes of payload: 1002.
        case invalidControlFrame

        /// The close code the connection answers with.
        var closeCode: WebSocketCloseCode { self == .frameTooLarge ? .messageTooLarge : .protocolError }
    }

    /// The next complete frame at the start of `buffer`'s readable bytes, which it then skips; `nil` (and nothing
    /// read) when the frame has not fully arrived.
    /// - Parameter maxFrameSize: The longest payload accepted.
    /// - Returns: The frame; its payload is a slice of `buffer`, still masked (`unmaskedData` unmasks a copy).
    /// - Throws: ``Failure`` as soon as the header is complete and not acceptable.
    static func nextFrame(in buffer: inout ByteBuffer, maxFrameSize: Int) throws(Failure) -> WebSocketFrame? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        var offset = start + 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let word = buffer.getInteger(at: offset, as: UInt16.self) else { return nil }
            length = Int(word)
            offset += 2
        } else if length == 127 {
            guard let quadWord = buffer.getInteger(at: offset, as: UInt64.self) else { return nil }
            guard quadWord <= UInt64(maxFrameSize) else { throw .frameTooLarge }
            length = Int(quadWord)
            offset += 8
        }
        guard length <= maxFrameSize else { throw .frameTooLarge }
        if first & 0x08 != 0, first & 0x80 == 0 || length > 125 { throw .invalidControlFrame }
        var maskKey: WebSocketMaskingKey?
        if second & 0x80 != 0 {
            guard let key = buffer.viewBytes(at: offset, length: 4) else { return nil }
            maskKey = WebSocketMaskingKey(key)
            offset += 4
        }
        guard let payload = buffer.getSlice(at: offset, length: length) else { return nil }
        buffer.moveReaderIndex(to: offset + length)
        return WebSocketFrame(
            fin: first & 0x80 != 0,
            rsv1: first & 0x40 != 0,
            rsv2: first & 0x20 != 0,
            rsv3: first & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!,  // every 4-bit value is an opcode
            maskKey: maskKey,
            data: payload
        )
    }
}
