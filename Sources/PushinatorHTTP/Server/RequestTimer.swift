import NIOCore

/// Closes connections that send a request head too slowly (slowloris), stall while sending a request body, or
/// stay idle too long between requests.
///
/// Sits in front of the HTTP decoder and sees raw bytes: the first byte of a request arms the head deadline,
/// ``headReceived()`` replaces it with the idle deadline, which every byte of the body moves on (a body shorter
/// than its `Content-Length` cannot hold the connection forever), ``bodyReceived()`` disarms it while the request
/// is handled, and ``requestFinished()`` arms the idle deadline again.
///
/// Arming only stores a deadline: one scheduled check per connection fires at the deadline or one head timeout
/// from now, whichever is first, and re-schedules itself while the deadline lies ahead, so the per-request cost
/// is a clock read, not a timer. The check is a ``LoopTimers`` timer: removing the handler (at a WebSocket upgrade,
/// at close) cancels it in constant time.
final class RequestTimer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let headTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    /// When the connection is closed unless the deadline moves; `nil` while a request is being handled.
    private var deadline: NIODeadline?
    /// The pending check and when it fires.
    private var scheduled: (timer: LoopTimers.Timer, at: NIODeadline)?
    private var awaitingHead = true
    private var headDeadlineArmed = false
    private var receivingBody = false

    init(headTimeout: Duration, idleTimeout: Duration) {
        self.headTimeout = TimeAmount(headTimeout)
        self.idleTimeout = TimeAmount(idleTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        scheduled?.timer.cancel()
        scheduled = nil
        deadline = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if awaitingHead, !headDeadlineArmed {
            headDeadlineArmed = true
            arm(headTimeout)
        } else if receivingBody {
            arm(idleTimeout)
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced a complete head: the body must keep coming, with pauses of at most the idle timeout.
    func headReceived() {
        awaitingHead = false
        headDeadlineArmed = false
        receivingBody = true
        arm(idleTimeout)
    }

    /// The request is complete: no deadline while it is handled.
    func bodyReceived() {
        receivingBody = false
        deadline = nil
    }

    /// The response is complete: wait for the next request, at most the idle timeout.
    func requestFinished() {
        awaitingHead = true
        headDeadlineArmed = false
        receivingBody = false
        arm(idleTimeout)
    }

    private func arm(_ timeout: TimeAmount) {
        let deadline = NIODeadline.now() + timeout
        self.deadline = deadline
        if let scheduled, scheduled.at <= deadline { return }  // the pending check fires early enough
        schedule(at: deadline)
    }

    /// Checks at most one head timeout apart, so that arming the head deadline rarely needs a new timer.
    private func nextCheck(for deadline: NIODeadline) -> NIODeadline {
        min(deadline, .now() + headTimeout)
    }

    private func schedule(at deadline: NIODeadline) {
        scheduled?.timer.cancel()
        guard let context else { return }
        let deadline = nextCheck(for: deadline)
        let timer = LoopTimers.on(context.eventLoop).schedule(at: deadline) { [self] in check() }
        scheduled = (timer, deadline)
    }

    private func check() {
        scheduled = nil
        guard let deadline, let context else { return }
        if deadline <= .now() {
            context.close(promise: nil)
        } else {
            schedule(at: deadline)
        }
    }
}
