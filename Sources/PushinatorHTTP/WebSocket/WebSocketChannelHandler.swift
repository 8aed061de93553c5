import NIOCore
import NIOWebSocket

/// Handles the bytes of an upgraded connection in one pipeline step: framing, validation, the memory budget,
/// reassembly of fragmented messages, control frames, and message delivery to the ``WebSocketConnection``.
///
/// - Framing: ``WebSocketFrameParser`` cuts the frames out of each read; the bytes of a frame that has not fully
///   arrived wait for the next read. A frame header over ``WebSocketConfiguration/maxMessageSize`` (1009) or a
///   fragmented or long control frame (1002) closes the connection, and later bytes are dropped.
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
/// One handler instead of four (NIO's frame decoder behind a `ByteToMessageHandler`, a memory gate, NIO's
/// `NIOWebSocketFrameAggregator` and this one): every connection saves three handler contexts and every frame three
/// pipeline hops.
final class WebSocketChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The most frames one message may take.
    static let maxFramesPerMessage = 1 << 16

    private let connection: WebSocketConnection
    private let maxMessageSize: Int
    private var charge: MemoryCharge
    /// The budget refused a frame: data frames are dropped while the close completes.
    private var refused = false
    /// The fragments of the message being reassembled: its opcode, the payload so far, the frame count.
    private var partial: (opcode: WebSocketOpcode, payload: ByteBuffer, frames: Int)?
    /// The bytes of a frame that has not fully arrived.
    private var pending: ByteBuffer?
    /// A frame header was refused: the connection is closing and later bytes are dropped.
    private var unreadable = false

    init(connection: WebSocketConnection, configuration: WebSocketConfiguration) {
        self.connection = connection
        self.maxMessageSize = configuration.maxMessageSize
        self.charge = MemoryCharge(configuration.memoryBudget, for: .webSocketMessage)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !unreadable else { return }
        var bytes = unwrapInboundIn(data)
        if var held = pending {
            pending = nil
            held.writeBuffer(&bytes)
            bytes = held
        }
        do {
            while let frame = try WebSocketFrameParser.nextFrame(in: &bytes, maxFrameSize: maxMessageSize) {
                handle(frame, context: context)
            }
        } catch {
            unreadable = true
            pending = nil
            return connection.closeAfterUnreadableInput(code: error.closeCode)
        }
        guard bytes.readableBytes > 0 else { return }
        // An incomplete frame waits for the rest; a few bytes left in a large read buffer are copied out of it,
        // so that an idle connection does not hold on to the whole buffer.
        pending = bytes.capacity > 2 * bytes.readableBytes + 1024 ? ByteBuffer(bytes: bytes.readableBytesView) : bytes
    }

    private func handle(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
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
            let pong = WebSocketEncodedFrame(control: .pong, payload: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong.bytes), promise: nil)
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
        context.close(promise: nil)
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
        pending = nil
        charge.releaseAll()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partial = nil
        pending = nil
        charge.releaseAll()
        connection.closed()
        context.fireChannelInactive()
    }
}
