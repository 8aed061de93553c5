import NIOCore
import NIOWebSocket

/// Rejects frames a client must never send: unmasked frames and frames with reserved bits set (no extension
/// is negotiated). Sits before `NIOWebSocketFrameAggregator`, which drops the mask of reassembled messages.
final class WebSocketFrameValidator: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    /// A frame broke RFC 6455 section 5.
    struct Violation: Error {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.maskKey != nil, !frame.rsv1, !frame.rsv2, !frame.rsv3 else {
            context.fireErrorCaught(Violation())
            return
        }
        context.fireChannelRead(data)
    }
}
