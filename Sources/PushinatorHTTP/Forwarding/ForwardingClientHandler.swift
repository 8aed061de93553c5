import NIOCore
import NIOHTTP1

/// The end of an upstream connection of ``HTTPForwardingClient``: writes one ``ForwardedExchange`` at a time and
/// completes its promise with the response (head and body, within the size limit), or fails it when the connection
/// closes or the timeout passes first (the connection is then closed, never reused).
///
/// For a tunnel, a `101` response turns the connection into a byte pipe: a ``TunnelHandler`` takes its place and the
/// HTTP codec leaves (the bytes the decoder holds beyond the response go on to the tunnel).
final class ForwardingClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = ForwardedExchange
    typealias OutboundOut = HTTPClientRequestPart

    private struct Current {
        var promise: EventLoopPromise<ForwardedExchange.Answer>
        var head: HTTPResponseHead?
        var body: ByteBuffer?
        var maxBodyBytes: Int
        var isTunnel: Bool
        var keepAlive: Bool
        var timeout: Scheduled<Void>?
        /// An interim response (1xx but 101) was read: its end is not the response's.
        var interim = false
    }

    private var current: Current?
    private let codec: [any RemovableChannelHandler]

    /// - Parameter codec: The HTTP encoder and decoder, removed when the connection becomes a tunnel.
    init(codec: [any RemovableChannelHandler]) {
        self.codec = codec
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard current == nil else {
            exchange.promise.fail(ChannelError.inappropriateOperationForState)
            promise?.fail(ChannelError.inappropriateOperationForState)
            return
        }
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: exchange.timeout) { [weak self] in
            guard let self, let current = self.current else { return }
            self.current = nil
            current.promise.fail(HTTPForwardingClient.Failure.timedOut)
            context.close(promise: nil)
        }
        current = Current(
            promise: exchange.promise,
            maxBodyBytes: exchange.maxBodyBytes,
            isTunnel: exchange.isTunnel,
            keepAlive: exchange.head.isKeepAlive,
            timeout: timeout
        )
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if exchange.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(exchange.body))), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var exchange = current else { return }  // nothing asked: ignore (the connection closes on error)
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard head.status.code >= 200 || head.status == .switchingProtocols else {  // 100 Continue, 103
                exchange.interim = true
                current = exchange
                return
            }
            exchange.interim = false
            exchange.head = head
            exchange.keepAlive = exchange.keepAlive && head.isKeepAlive
            current = exchange
        case .body(var part):
            guard exchange.head != nil else { return }
            if (exchange.body?.readableBytes ?? 0) + part.readableBytes > exchange.maxBodyBytes {
                fail(HTTPForwardingClient.Failure.responseTooLarge, context: context)
                return
            }
            if exchange.body == nil { exchange.body = part } else { exchange.body!.writeBuffer(&part) }
            current = exchange
        case .end:
            if exchange.head == nil, exchange.interim {
                exchange.interim = false
                current = exchange
                return
            }
            guard let head = exchange.head else {
                fail(HTTPForwardingClient.Failure.upstreamFailed, context: context)
                return
            }
            current = nil
            exchange.timeout?.cancel()
            var answer = ForwardedExchange.Answer(
                head: head,
                body: exchange.body ?? context.channel.allocator.buffer(capacity: 0),
                keepAlive: exchange.keepAlive && !exchange.isTunnel
            )
            if exchange.isTunnel, head.status == .switchingProtocols {
                answer.tunnel = becomeTunnel(context: context)
            }
            exchange.promise.succeed(answer)
        }
    }

    /// Puts a ``TunnelHandler`` at the end of the pipeline and removes the HTTP handlers (the decoder last, so
    /// that the bytes it holds beyond the response reach the tunnel).
    private func becomeTunnel(context: ChannelHandlerContext) -> TunnelHandler.Box? {
        let tunnel = TunnelHandler()
        let sync = context.pipeline.syncOperations
        do {
            try sync.addHandler(tunnel)
        } catch {
            context.close(promise: nil)
            return nil
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(30)) { tunnel.closeIfUnpaired() }
        sync.removeHandler(context: context, promise: nil)
        for handler in codec { sync.removeHandler(handler, promise: nil) }
        return TunnelHandler.Box(tunnel, eventLoop: context.eventLoop)
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        guard let exchange = current else { return }
        current = nil
        exchange.timeout?.cancel()
        exchange.promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(HTTPForwardingClient.Failure.upstreamFailed, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(HTTPForwardingClient.Failure.upstreamFailed, context: context)
        context.close(promise: nil)
    }
}
