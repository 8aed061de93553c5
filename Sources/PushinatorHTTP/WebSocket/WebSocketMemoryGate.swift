import NIOCore
import NIOWebSocket

/// Charges the WebSocket messages a client is sending to the process-wide ``MemoryBudget``
/// (``WebSocketConfiguration/memoryBudget``), in front of the fragment aggregator; before that, it refuses the
/// frames a client must never send (``WebSocketFrameValidator``: unmasked, reserved bits) with a
/// ``WebSocketFrameValidator/Violation`` error.
///
/// Each data frame (text, binary, continuation) reserves its payload's bytes; they are given back once the
/// message's final frame has been delivered (the aggregated message is handed on synchronously), or when the
/// connection goes away. A frame the budget refuses is not passed on: the connection is closed with 1013 (try
/// again later) and later data frames are dropped. One atomic add per frame and one per message.
final class WebSocketMemoryGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    private let connection: WebSocketConnection
    private var charge: MemoryCharge
    private var refused = false

    init(connection: WebSocketConnection, budget: MemoryBudget) {
        self.connection = connection
        self.charge = MemoryCharge(budget, for: .webSocketMessage)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard WebSocketFrameValidator.admits(frame) else {
            context.fireErrorCaught(WebSocketFrameValidator.Violation())
            return
        }
        switch frame.opcode {
        case .text, .binary, .continuation:
            guard !refused else { return }
            guard charge.add(frame.length) else {
                refused = true
                charge.releaseAll()
                connection.close(code: .tryAgainLater)
                return
            }
            context.fireChannelRead(data)
            if frame.fin { charge.releaseAll() }  // the message was delivered (or refused) downstream
        default:
            context.fireChannelRead(data)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        charge.releaseAll()
    }

    func channelInactive(context: ChannelHandlerContext) {
        charge.releaseAll()
        context.fireChannelInactive()
    }
}

extension WebSocketCloseCode {
    /// 1013: the server is overloaded (its memory budget is spent); the client may reconnect later.
    public static var tryAgainLater: Self { .init(1013) }
}
