import NIOCore

/// When a connection's current request must have progressed, without I/O: the deadlines of ``RequestTimer``.
///
/// The accept arms the head deadline for the first request (a connection that never sends a byte is closed at the
/// head timeout), the first byte of a later request arms it, a complete head replaces it with the idle deadline,
/// which every read of the body moves on (a body shorter than its `Content-Length` cannot hold the connection
/// forever), the complete request disarms it while the request is handled, and the end of the response arms the
/// idle deadline again. It also bounds the framing of a chunked request body: the bytes read while such a body
/// arrives may exceed 9 per body byte delivered by at most `maxChunkFramingBytes`.
///
/// Time is a parameter of every call that arms a deadline.
struct RequestDeadlines {
    /// What to do with bytes read from the client.
    enum ReadAction: Equatable {
        /// Hand them to the HTTP decoder.
        case forward
        /// The chunk framing limit was passed: report ``RequestTimer/ChunkFramingTooLarge`` and read nothing more.
        case refuseChunkFraming
        /// Drop them (the framing limit was passed before).
        case drop
    }

    let headTimeout: TimeAmount
    let idleTimeout: TimeAmount
    let maxChunkFramingBytes: Int
    /// When the connection is closed unless the deadline moves; `nil` while a request is being handled.
    private(set) var deadline: NIODeadline?
    private var awaitingHead = true
    private var headDeadlineArmed = false
    private var receivingBody = false
    /// While a chunked body arrives: the bytes read and the body bytes the decoder delivered.
    private var chunkedWireBytes = 0
    private var chunkedBodyBytes = 0
    private var countingChunked = false
    /// The framing limit was passed: nothing more goes to the decoder.
    private var refused = false

    init(headTimeout: TimeAmount, idleTimeout: TimeAmount, maxChunkFramingBytes: Int) {
        self.headTimeout = headTimeout
        self.idleTimeout = idleTimeout
        self.maxChunkFramingBytes = maxChunkFramingBytes
    }

    /// The connection was accepted: the head timeout runs from now.
    mutating func accepted(now: NIODeadline) {
        headDeadlineArmed = true
        deadline = now + headTimeout
    }

    /// `count` bytes were read from the client.
    mutating func read(_ count: Int, now: NIODeadline) -> ReadAction {
        guard !refused else { return .drop }
        if awaitingHead, !headDeadlineArmed {
            headDeadlineArmed = true
            deadline = now + headTimeout
        } else if receivingBody {
            deadline = now + idleTimeout
            if countingChunked {
                // Only reads before this one count: the decoder has delivered the body bytes they held.
                if chunkedWireBytes - 9 * chunkedBodyBytes > maxChunkFramingBytes {
                    refused = true
                    return .refuseChunkFraming
                }
                chunkedWireBytes += count
            }
        }
        return .forward
    }

    /// The decoder produced a complete head: the body must keep coming, with pauses of at most the idle timeout.
    mutating func headReceived(chunked: Bool, now: NIODeadline) {
        awaitingHead = false
        headDeadlineArmed = false
        receivingBody = true
        countingChunked = chunked
        chunkedWireBytes = 0
        chunkedBodyBytes = 0
        deadline = now + idleTimeout
    }

    /// The decoder delivered `count` bytes of the request body.
    mutating func bodyPartReceived(_ count: Int) {
        chunkedBodyBytes &+= count
    }

    /// The request is complete: no deadline while it is handled.
    mutating func bodyReceived() {
        receivingBody = false
        countingChunked = false
        deadline = nil
    }

    /// The response is complete: wait for the next request, at most the idle timeout.
    mutating func requestFinished(now: NIODeadline) {
        awaitingHead = true
        headDeadlineArmed = false
        receivingBody = false
        deadline = now + idleTimeout
    }

    /// Whether the connection must be closed at `now`.
    func isExpired(at now: NIODeadline) -> Bool {
        guard let deadline else { return false }
        return deadline <= now
    }
}
