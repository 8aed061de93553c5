import NIOCore
import NIOWebSocket

/// Handles the frames of an upgraded connection: control frames, validation, and message delivery to the
/// ``WebSocketConnection``. Fragments are reassembled by `NIOWebSocketFrameAggregator` in front of it.
final class WebSocketChannelHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let connection: WebSocketConnection

    init(connection: WebSocketConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            let payload = frame.unmaskedData
            guard payload.readableBytesView.withContiguousStorageIfAvailable({ String(validating: $0, as: UTF8.self) != nil })
                ?? (String(validating: Array(payload.readableBytesView), as: UTF8.self) != nil)
            else {
                connection.close(code: .invalidPayload)
                return
            }
            connection.received(.text(payload))
        case .binary:
            connection.received(.binary(frame.unmaskedData))
        case .ping:
            // A peer that floods pings without reading the pongs must not grow our memory: while the outbound
            // buffer is over its high-water mark the pong is skipped (RFC 6455 5.5.3 allows answering only the
            // most recent ping).
            guard connection.answersPing else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            break
        case .connectionClose:
            var payload = frame.unmaskedData
            connection.receivedClose(code: payload.readInteger(as: UInt16.self).map(WebSocketCloseCode.init))
        default:
            connection.close(code: .protocolError)  // continuation without a start, or a reserved opcode
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection.writabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOWebSocketError {
            // The frame decoder failed (a frame over the size limit, a fragmented or long control frame) and
            // reads nothing more.
            connection.closeAfterUnreadableInput(code: error == .invalidFrameLength ? .messageTooLarge : .protocolError)
        } else if case .dataReceivedInErrorState = error as? ByteToMessageDecoderError {
            return  // bytes behind the frame that failed: dropped while the close above completes
        } else if case .accumulatedFrameSizeIsTooLarge = error as? NIOWebSocketFrameAggregator.Error {
            connection.close(code: .messageTooLarge)
        } else if error is NIOWebSocketFrameAggregator.Error || error is WebSocketFrameValidator.Violation {
            connection.close(code: .protocolError)
        } else {
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            connection.quiesce()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.closed()
        context.fireChannelInactive()
    }
}
