import NIOCore
import PushinatorEventLoop

/// Closes connections that send a request head too slowly (slowloris), stall while sending a request body, or
/// stay idle too long between requests: carries out what its ``RequestDeadlines`` decide.
///
/// Sits in front of the HTTP decoder and sees raw bytes: the accept arms the head deadline for the first request
/// (a connection that never sends a byte is closed at the head timeout), the first byte of a later request arms it,
/// ``headReceived()`` replaces it with the idle deadline, which every byte of the body moves on (a body shorter
/// than its `Content-Length` cannot hold the connection forever), ``bodyReceived()`` disarms it while the request
/// is handled, and ``requestFinished()`` arms the idle deadline again.
///
/// Arming only stores a deadline: one scheduled check per connection fires at the deadline or one head timeout
/// from now, whichever is first, and re-schedules itself while the deadline lies ahead, so the per-request cost
/// is a clock read, not a timer. The check is a ``LoopTimers`` timer: removing the handler (at a WebSocket upgrade,
/// at close) cancels it in constant time.
///
/// Seeing the raw bytes, it also bounds the framing of a chunked request body, which the decoder skips without a
/// limit (chunk extensions): the bytes read while such a body arrives may exceed 9 per body byte delivered by at
/// most `maxChunkFramingBytes`; past it ``ChunkFramingTooLarge`` goes down the pipeline and nothing more is read.
final class RequestTimer: ChannelInboundHandler, RemovableChannelHandler {
    /// A chunked request body carries more framing (size lines, chunk extensions, trailers) than allowed.
    struct ChunkFramingTooLarge: Error {}

    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The deadlines and the chunk framing count: every decision of this handler.
    private var deadlines: RequestDeadlines
    private var context: ChannelHandlerContext?
    /// The pending check and when it fires.
    private var scheduled: (timer: LoopTimers.Timer, at: NIODeadline)?

    init(headTimeout: Duration, idleTimeout: Duration, maxChunkFramingBytes: Int = 16 * 1024) {
        deadlines = RequestDeadlines(
            headTimeout: TimeAmount(headTimeout),
            idleTimeout: TimeAmount(idleTimeout),
            maxChunkFramingBytes: maxChunkFramingBytes
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The head timeout runs from the accept: a silent connection holds its slot no longer than that.
        deadlines.accepted(now: .now())
        reschedule()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        scheduled?.timer.cancel()
        scheduled = nil
        deadlines.bodyReceived()  // no deadline any more
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch deadlines.read(unwrapInboundIn(data).readableBytes, now: .now()) {
        case .forward:
            reschedule()
            context.fireChannelRead(data)
        case .refuseChunkFraming:
            context.fireErrorCaught(ChunkFramingTooLarge())
        case .drop:
            return
        }
    }

    /// The decoder produced a complete head: the body must keep coming, with pauses of at most the idle timeout.
    /// - Parameter chunked: whether the body is chunked (its framing is then bounded).
    func headReceived(chunked: Bool = false) {
        deadlines.headReceived(chunked: chunked, now: .now())
        reschedule()
    }

    /// The decoder delivered `count` bytes of the request body.
    func bodyPartReceived(_ count: Int) {
        deadlines.bodyPartReceived(count)
    }

    /// The request is complete: no deadline while it is handled.
    func bodyReceived() {
        deadlines.bodyReceived()
    }

    /// The response is complete: wait for the next request, at most the idle timeout.
    func requestFinished() {
        deadlines.requestFinished(now: .now())
        reschedule()
    }

    /// Makes sure a check fires by the current deadline: the pending one when it fires early enough.
    private func reschedule() {
        guard let deadline = deadlines.deadline else { return }
        if let scheduled, scheduled.at <= deadline { return }
        schedule(at: deadline)
    }

    /// Checks at most one head timeout apart, so that arming the head deadline rarely needs a new timer.
    private func schedule(at deadline: NIODeadline) {
        scheduled?.timer.cancel()
        guard let context else { return }
        let at = min(deadline, .now() + deadlines.headTimeout)
        let timer = LoopTimers.on(context.eventLoop).schedule(at: at) { [self] in check() }
        scheduled = (timer, at)
    }

    private func check() {
        scheduled = nil
        guard let context, let deadline = deadlines.deadline else { return }
        if deadlines.isExpired(at: .now()) {
            context.close(promise: nil)
        } else {
            schedule(at: deadline)
        }
    }
}
