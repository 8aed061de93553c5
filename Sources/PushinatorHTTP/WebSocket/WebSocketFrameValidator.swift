import NIOWebSocket

/// Frames a client must never send: unmasked frames and frames with reserved bits set (no extension is negotiated).
///
/// ``WebSocketChannelHandler`` checks every frame first thing (a handler of its own would cost every connection
/// about 120 bytes of pipeline and one more hop per frame).
enum WebSocketFrameValidator {
    /// Whether a client may send `frame`.
    static func admits(_ frame: WebSocketFrame) -> Bool {
        frame.maskKey != nil && !frame.rsv1 && !frame.rsv2 && !frame.rsv3
    }
}
