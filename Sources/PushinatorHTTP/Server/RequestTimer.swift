import NIOCore

/// Closes connections that send a request head too slowly (slowloris) or stay idle too long between requests.
///
/// Sits in front of the HTTP decoder and sees raw bytes: the first byte of a request arms the head deadline,
/// ``headReceived()`` disarms it, ``requestFinished()`` arms the idle deadline.
final class RequestTimer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let headTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var scheduled: Scheduled<Void>?
    private var awaitingHead = true
    private var headDeadlineArmed = false

    init(headTimeout: Duration, idleTimeout: Duration) {
        self.headTimeout = TimeAmount(headTimeout)
        self.idleTimeout = TimeAmount(idleTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if awaitingHead, !headDeadlineArmed {
            headDeadlineArmed = true
            arm(headTimeout)
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced a complete head: no deadline while the request is handled.
    func headReceived() {
        awaitingHead = false
        headDeadlineArmed = false
        scheduled?.cancel()
        scheduled = nil
    }

    /// The response is complete: wait for the next request, at most the idle timeout.
    func requestFinished() {
        awaitingHead = true
        headDeadlineArmed = false
        arm(idleTimeout)
    }

    private func arm(_ timeout: TimeAmount) {
        scheduled?.cancel()
        guard let context else { return }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        scheduled = context.eventLoop.scheduleTask(in: timeout) {
            bound.value.close(promise: nil)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
