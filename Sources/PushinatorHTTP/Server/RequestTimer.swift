import NIOCore

/// Closes connections that send a request head too slowly (slowloris), stall while sending a request body, or
/// stay idle too long between requests.
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
    /// A chunked request body carries more framing (size lines, extensions, trailers) than allowed.
    struct ChunkFramingTooLarge: Error {}

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
    private let maxChunkFramingBytes: Int
    /// While a chunked body arrives: the bytes read and the body bytes the decoder delivered.
    private var chunkedWireBytes = 0
    private var chunkedBodyBytes = 0
    private var countingChunked = false
    /// The framing limit was passed: nothing more goes to the decoder.
    private var refused = false

    init(headTimeout: Duration, idleTimeout: Duration, maxChunkFramingBytes: Int = 16 * 1024) {
        self.headTimeout = TimeAmount(headTimeout)
        self.idleTimeout = TimeAmount(idleTimeout)
        self.maxChunkFramingBytes = maxChunkFramingBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The head timeout runs from the accept: a silent connection holds its slot no longer than that.
        headDeadlineArmed = true
        arm(headTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        scheduled?.timer.cancel()
        scheduled = nil
        deadline = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if awaitingHead, !headDeadlineArmed {
            headDeadlineArmed = true
            arm(headTimeout)
        } else if receivingBody {
            arm(idleTimeout)
            if countingChunked {
                // Only reads before this one count: the decoder has delivered the body bytes they held.
                if chunkedWireBytes - 9 * chunkedBodyBytes > maxChunkFramingBytes {
                    refused = true
                    context.fireErrorCaught(ChunkFramingTooLarge())
                    return
                }
                chunkedWireBytes += unwrapInboundIn(data).readableBytes
            }
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced a complete head: the body must keep coming, with pauses of at most the idle timeout.
    /// - Parameter chunked: whether the body is chunked (its framing is then bounded).
    func headReceived(chunked: Bool = false) {
        awaitingHead = false
        headDeadlineArmed = false
        receivingBody = true
        countingChunked = chunked
        chunkedWireBytes = 0
        chunkedBodyBytes = 0
        arm(idleTimeout)
    }

    /// The decoder delivered `count` bytes of the request body.
    func bodyPartReceived(_ count: Int) {
        chunkedBodyBytes &+= count
    }

    /// The request is complete: no deadline while it is handled.
    func bodyReceived() {
        receivingBody = false
        countingChunked = false
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
