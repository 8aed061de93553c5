import NIOWebSocket

/// Frames a client must never send: unmasked frames and frames with reserved bits set (no extension is negotiated).
///
/// ``WebSocketMemoryGate`` checks every frame first thing, before `NIOWebSocketFrameAggregator` drops the mask of
/// reassembled messages, and reports a ``Violation`` through the pipeline instead of passing the frame on (a
/// handler of its own cost every connection about 120 bytes of pipeline and one more hop per frame).
enum WebSocketFrameValidator {
    /// A frame broke RFC 6455 section 5.
    struct Violation: Error {}

    /// Whether a client may send `frame`.
    static func admits(_ frame: WebSocketFrame) -> Bool {
        frame.maskKey != nil && !frame.rsv1 && !frame.rsv2 && !frame.rsv3
    }
}
