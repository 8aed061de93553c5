import NIOCore

/// One end of a byte pipe between two connections on the same event loop (a forwarded WebSocket): what one reads,
/// the other writes. It reads only while the other end is writable (backpressure: never faster than the other side
/// writes), and when either connection closes, both do.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A handler handed between tasks; used on its event loop only.
    struct Box: Sendable {
        let bound: NIOLoopBound<TunnelHandler>
        /// The event loop of the handler's connection.
        let eventLoop: any EventLoop

        init(_ handler: TunnelHandler, eventLoop: any EventLoop) {
            self.bound = NIOLoopBound(handler, eventLoop: eventLoop)
            self.eventLoop = eventLoop
        }
    }

    private var context: ChannelHandlerContext?
    private var partner: TunnelHandler?
    /// Bytes read before the other end was attached.
    private var held: [ByteBuffer] = []
    /// A read was asked for while the other end could not take more.
    private var pendingRead = false
    private var closed = false

    /// Connects two ends; call on their (common) event loop.
    static func pair(_ first: TunnelHandler, _ second: TunnelHandler) {
        first.partner = second
        second.partner = first
        first.partnerAttached()
        second.partnerAttached()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    private func partnerAttached() {
        guard let partner else { return }
        if closed {
            partner.closeConnection()
            return
        }
        if !held.isEmpty {
            for buffer in held { partner.writeOut(buffer) }
            held = []
            partner.flushOut()
        }
        partner.otherEndWritable()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let partner { partner.writeOut(buffer) } else { held.append(buffer) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.flushOut()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        partner?.closeConnection()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.otherEndWritable() }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if let partner, partner.isWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }

    // MARK: Called by the other end

    private var isWritable: Bool { context?.channel.isWritable ?? false }

    private func writeOut(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func flushOut() {
        context?.flush()
    }

    /// The other end can take bytes again: read if a read was held back.
    private func otherEndWritable() {
        guard pendingRead, let context, let partner, partner.isWritable else { return }
        pendingRead = false
        context.read()
    }

    /// Closes the connection if no other end was attached by now (a relayed `101` the client's side never used).
    func closeIfUnpaired() {
        if partner == nil { closeConnection() }
    }

    private func closeConnection() {
        guard !closed else { return }
        closed = true
        context?.close(promise: nil)
    }
}
