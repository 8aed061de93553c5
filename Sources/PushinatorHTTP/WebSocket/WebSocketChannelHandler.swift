import NIOCore
import NIOWebSocket

/// Handles the frames of an upgraded connection in one pipeline step: validation, the memory budget, reassembly of
/// fragmented messages, control frames, and message delivery to the ``WebSocketConnection``.
///
/// - Validation: a frame a client must never send (``WebSocketFrameValidator``: unmasked, reserved bits) closes the
///   connection with 1002.
/// - Memory: each data frame (text, binary, continuation) reserves its payload's bytes in the process-wide
///   ``MemoryBudget`` (``WebSocketConfiguration/memoryBudget``); they are given back once the message's final frame
///   was delivered, or when the connection goes away. A frame the budget refuses closes the connection with 1013
///   (try again later) and later data frames are dropped. One atomic add per frame and one per message.
/// - Reassembly: the fragments of a message are gathered (control frames may come between them) up to
///   ``WebSocketConfiguration/maxMessageSize`` bytes (1009 beyond) and 65,536 frames; a continuation without a
///   start, or a new message before the end of the last one, closes with 1002.
///
/// One handler instead of three (a memory gate, NIO's `NIOWebSocketFrameAggregator` and this one): every
/// connection saves two handler contexts and every frame two pipeline hops.
final class WebSocketChannelHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// The most frames one message may take.
    static let maxFramesPerMessage = 1 << 16

    private let connection: WebSocketConnection
    private let maxMessageSize: Int
    private var charge: MemoryCharge
    /// The budget refused a frame: data frames are dropped while the close completes.
    private var refused = false
    /// The fragments of the message being reassembled: its opcode, the payload so far, the frame count.
    private var partial: (opcode: WebSocketOpcode, payload: ByteBuffer, frames: Int)?

    init(connection: WebSocketConnection, configuration: WebSocketConfiguration) {
        self.connection = connection
        self.maxMessageSize = configuration.maxMessageSize
        self.charge = MemoryCharge(configuration.memoryBudget, for: .webSocketMessage)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard WebSocketFrameValidator.admits(frame) else { return connection.close(code: .protocolError) }
        switch frame.opcode {
        case .text, .binary, .continuation:
            guard !refused else { return }
            guard charge.add(frame.length) else {
                refused = true
                partial = nil
                charge.releaseAll()
                return connection.close(code: .tryAgainLater)
            }
            dataFrame(frame)
            if frame.fin { charge.releaseAll() }  // the message was delivered (or refused)
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
            connection.close(code: .protocolError)  // a reserved opcode
        }
    }

    /// A text, binary or continuation frame: delivered, or gathered until its message's final frame.
    private func dataFrame(_ frame: WebSocketFrame) {
        if frame.opcode == .continuation {
            guard var message = partial else { return connection.close(code: .protocolError) }  // nothing started
            partial = nil  // the buffer stays uniquely referenced while it grows
            guard message.frames < Self.maxFramesPerMessage else { return connection.close(code: .protocolError) }
            guard message.payload.readableBytes + frame.length <= maxMessageSize else {
                return connection.close(code: .messageTooLarge)
            }
            var payload = frame.unmaskedData
            message.payload.writeBuffer(&payload)
            message.frames += 1
            if frame.fin {
                deliver(message.opcode, message.payload)
            } else {
                partial = message
            }
            return
        }
        guard partial == nil else { return connection.close(code: .protocolError) }  // a new message inside one
        if frame.fin {
            deliver(frame.opcode, frame.unmaskedData)
        } else {
            partial = (frame.opcode, frame.unmaskedData, 1)
        }
    }

    private func deliver(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) {
        guard opcode == .text else { return connection.received(.binary(payload)) }
        guard payload.readableBytesView.withContiguousStorageIfAvailable({ String(validating: $0, as: UTF8.self) != nil })
            ?? (String(validating: Array(payload.readableBytesView), as: UTF8.self) != nil)
        else {
            return connection.close(code: .invalidPayload)
        }
        connection.received(.text(payload))
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

    func handlerRemoved(context: ChannelHandlerContext) {
        partial = nil
        charge.releaseAll()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partial = nil
        charge.releaseAll()
        connection.closed()
        context.fireChannelInactive()
    }
}
