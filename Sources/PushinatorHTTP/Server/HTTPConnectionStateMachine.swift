import HTTPTypes
import NIOCore
import NIOHTTP1

/// The protocol state of one HTTP/1.1 server connection, without I/O.
///
/// ``HTTPConnectionHandler`` feeds it what happens on the connection (request parts from the decoder, parser
/// errors, a response ready, the end of a response, writability changes, the write timer, a read request, graceful
/// shutdown) and carries out the action each call returns. The machine decides:
/// - pipelining: requests that arrive while earlier answers are pending are dispatched at once, in order, up to
///   ``Limits/maxPipelinedRequests`` in flight (then reads are held back until an answer is written); answers
///   leave strictly in request order, an answer ready before its predecessors' waiting in its slot. A request that
///   cannot overlap others (an upgrade or CONNECT, `Connection: close` or HTTP/1.0 without keep-alive,
///   `Expect: 100-continue`) waits, with the reads, until every answer before it is written, and nothing after it
///   is dispatched until its own is; a parser error or a refusal is answered in its turn;
/// - read gating on output: while the channel is not writable (more than the high-water mark waits for the client)
///   requests are queued instead of dispatched and reads are held back; the first time it falls behind the write
///   timer starts, and it is cancelled once the client has caught up (writable, nothing held back);
/// - limits: header size (431), body size (413), transfer codings (501/400), a parser error (400, or 431);
/// - keep-alive: whether a response is the last one (request, `Connection: close` answer, graceful shutdown);
/// - upgrades: whether a WebSocket acceptance becomes an upgrade or a 400;
/// - flush batching: responses finished during a read burst (or a drain of held answers) are flushed once at its end.
///
/// What the client makes the connection hold is charged to the process-wide ``MemoryBudget``: request bodies
/// (until their responder is done with them; a refusal answers 503), and ``HTTPServerConfiguration/
/// maxQueuedResponseBytes`` while the client is behind (a refusal closes the connection).
///
/// A `struct` mutated in place: no call allocates while one request at a time is in flight (the queues are
/// allocated with the connection and grow only when requests are pipelined), and the only existential is the
/// parser error (an error path).
struct HTTPConnectionStateMachine {
    /// The limits the machine enforces.
    struct Limits {
        var maxRequestBodySize: Int
        var maxHeaderSize: Int
        var maxChunkFramingBytes: Int
        var maxQueuedResponseBytes: Int
        /// The most requests dispatched whose answers are not written yet (at least 1).
        var maxPipelinedRequests: Int
        /// Which pipelined requests may start while earlier answers are pending.
        var pipelineOverlap: HTTPPipelineOverlap
        var memoryBudget: MemoryBudget

        init(
            maxRequestBodySize: Int,
            maxHeaderSize: Int,
            maxChunkFramingBytes: Int,
            maxQueuedResponseBytes: Int = 64 * 1024,
            maxPipelinedRequests: Int = 16,
            pipelineOverlap: HTTPPipelineOverlap = .safeMethods,
            memoryBudget: MemoryBudget = .shared
        ) {
            self.maxRequestBodySize = maxRequestBodySize
            self.maxHeaderSize = maxHeaderSize
            self.maxChunkFramingBytes = maxChunkFramingBytes
            self.maxQueuedResponseBytes = maxQueuedResponseBytes
            self.maxPipelinedRequests = max(1, maxPipelinedRequests)
            self.pipelineOverlap = pipelineOverlap
            self.memoryBudget = memoryBudget
        }

        init(_ configuration: HTTPServerConfiguration) {
            self.init(
                maxRequestBodySize: configuration.maxRequestBodySize,
                maxHeaderSize: configuration.maxHeaderSize,
                maxChunkFramingBytes: configuration.maxChunkFramingBytes,
                maxQueuedResponseBytes: configuration.maxQueuedResponseBytes,
                maxPipelinedRequests: configuration.maxPipelinedRequests,
                pipelineOverlap: configuration.pipelineOverlap,
                memoryBudget: configuration.memoryBudget
            )
        }
    }

    /// What the response to a request needs to know about it.
    struct RequestInfo {
        var keepAlive: Bool
        var isHead: Bool
        /// Whether the client understands chunked bodies (HTTP/1.1).
        var acceptsChunked: Bool
        /// The original head, kept only for requests that ask for an upgrade.
        var upgradeHead: HTTPRequestHead?
        /// Whether the request overlaps no other: dispatched once every answer before it is written, and nothing
        /// after it is dispatched until its own answer is (upgrades, the last request, `Expect: 100-continue`).
        var exclusive = false
    }

    /// Identifies a dispatched request, so that its answer finds its place in the order.
    typealias RequestID = Int

    /// The reading side of the connection.
    enum State {
        /// Waiting for the next request head.
        case idle
        case receiving(HTTPRequest, RequestInfo, body: ByteBuffer?)
        /// A refusal for the current request was sent or waits for its turn (413, 431, ...); the rest of the
        /// request is ignored.
        case discarding
        /// The connection speaks WebSocket now.
        case upgraded
        /// Nothing more is read into requests: what arrives is dropped. Answers still in flight are written (the
        /// requests before a refusal) unless the connection closed.
        case closing
    }

    /// A dispatched request whose answer is not written yet.
    struct Slot {
        enum Phase {
            /// Its responder is running.
            case handling
            /// Its answer is ready and waits for the answers before it.
            case ready(Response)
            /// A refusal answered in its turn (the request was refused behind pending answers).
            case refusal(Refusal)
            /// Its answer is being written (a streamed body may still be running).
            case writing
        }

        let id: RequestID
        let info: RequestInfo
        /// The body bytes charged to the memory budget until the responder is done with them.
        var charged: Int
        var phase: Phase
    }

    /// An error response decided by the machine.
    struct Refusal: Equatable {
        var status: HTTPResponse.Status
        var message: String
    }

    /// What to do with a request part (received now or taken from the queue).
    enum InboundAction {
        /// Nothing (queued, ignored, or absorbed).
        case none
        /// A request head was accepted: tell the request timer (whether the body is chunked), and answer
        /// `100 Continue` first when the client asked for it.
        case headAccepted(chunked: Bool, sendContinue: Bool)
        /// `count` bytes of body were accepted (for the request timer).
        case bodyAccepted(count: Int)
        /// Answer with an error, half-close, then close (the rest of the request is ignored).
        case refuse(Refusal)
        /// The request is complete: run the responder, and report its answer with `id`.
        case dispatch(Request, id: RequestID)
    }

    /// What to do about input the decoder could not parse.
    enum ParserErrorAction: Equatable {
        /// Nothing now (it waits behind pending answers, or the connection is closing already).
        case none
        /// Close the connection (a response to this request went out already).
        case close
        /// Write this error response, then close.
        case answerAndClose(Refusal)
    }

    /// What to do with a response the responder produced.
    enum ResponseAction {
        /// Nothing now: the connection went away meanwhile, or the answer waits for those before it.
        case none
        /// Write the response; `keepAlive` says whether the connection serves another request after it.
        case write(RequestInfo, keepAlive: Bool)
        /// Write this error response instead (a WebSocket acceptance that cannot become an upgrade).
        case refuse(Refusal, RequestInfo, keepAlive: Bool)
        /// Switch the connection to WebSocket with the request's original head.
        case upgrade(HTTPRequestHead)
    }

    /// What to do with the last bytes of a response.
    enum EndAction: Equatable {
        /// Write them; flush now (or wait for the end of the read burst or drain); then drain the queue. `idle`:
        /// nothing is in flight or being received any more (the request timer waits for the next request).
        case keepAlive(flushNow: Bool, idle: Bool)
        /// Write and flush them, then close the connection.
        case close
    }

    /// One step of draining the queued events.
    enum DrainStep {
        /// An answer held for its turn can be written now: take it with ``takeHeldAnswer()``, write it as its
        /// action says, then ask again. (Carries no payload: the step stays small on the path of every request.)
        case respond
        /// Carry out this action for a queued part (or a refusal whose turn came), then ask again.
        case inbound(InboundAction)
        /// Carry out this action for a queued parser error, then ask again.
        case parserError(ParserErrorAction)
        /// Stop: an answer is pending, the client is behind, or the in-flight limit is reached; draining resumes
        /// on its own.
        case wait
        /// The queue is empty: cancel the write timer, and read, as told.
        case caughtUp(cancelWriteTimer: Bool, read: Bool)
    }

    /// What to do when the channel's writability changed.
    enum WritabilityAction: Equatable {
        case none
        /// Start the write timer: the client fell behind.
        case startWriteTimer
        /// Close the connection: the client fell behind and the memory budget has no room for what it holds.
        case close
        /// Drain the queue (it may cancel the write timer and resume reading).
        case drain
    }

    /// An inbound event held back (behind an exclusive request, the in-flight limit, or a client that is behind).
    private enum Pending {
        case part(HTTPServerRequestPart)
        /// An `HTTPParserError` or a ``RequestTimer/ChunkFramingTooLarge``.
        case error(any Error)
    }

    let limits: Limits
    let isSecure: Bool
    private(set) var state = State.idle
    /// Set by a graceful shutdown: nothing new is dispatched, the last answer in flight is the last one.
    private(set) var quiescing = false
    private var pending = CircularBuffer<Pending>(initialCapacity: 0)
    /// The oldest request in flight, whose answer is produced or written now (`nil`: none, or the first of `later`
    /// has its answer ready and waits for the drain to write it). Kept in separate fields rather than a ``Slot``, so
    /// that the request path copies no slot when one request at a time is in flight.
    private(set) var currentID: RequestID?
    private var currentInfo = RequestInfo(keepAlive: false, isHead: false, acceptsChunked: false, upgradeHead: nil)
    /// The current request's body bytes charged to the memory budget until its responder is done with them.
    private var currentCharged = 0
    /// Whether the current answer is being written (its responder is done).
    private var currentWriting = false
    /// The requests in flight behind the current one, in order (their ids follow each other).
    private var later = CircularBuffer<Slot>(initialCapacity: 0)
    private var nextID: RequestID = 0
    /// A `read` held back while the client is behind, a request waits, or the in-flight limit is reached.
    private var readPending = false
    /// Whether a drain is in progress (a response finished synchronously while draining).
    private var draining = false
    /// A response was written during a drain and waits for the flush at its end.
    private var flushAtDrainEnd = false
    /// From the first read of a burst to its read-complete.
    private var isInReadBurst = false
    /// A response was written during the read burst and waits for the flush at its end.
    private var flushAtReadComplete = false
    /// Whether the channel takes more writes.
    private(set) var writable = true
    private(set) var writeTimerArmed = false
    /// The request bodies held (being received, or with a responder that is not done with them).
    private var bodyCharge: MemoryCharge
    /// The part of `bodyCharge` that belongs to the request being received.
    private var receivingCharge = 0
    /// `maxQueuedResponseBytes`, charged to the memory budget while the client is behind (not writable).
    private var outboundCharge: MemoryCharge

    init(limits: Limits, isSecure: Bool) {
        self.limits = limits
        self.isSecure = isSecure
        self.bodyCharge = MemoryCharge(limits.memoryBudget, for: .httpRequestBody)
        self.outboundCharge = MemoryCharge(limits.memoryBudget, for: .httpOutbound)
    }

    /// The bytes charged to the memory budget now (for tests).
    var chargedBytes: Int { bodyCharge.bytes + outboundCharge.bytes }

    /// The number of events waiting to be read into requests (for tests).
    var queuedCount: Int { pending.count }

    /// The number of dispatched requests whose answers are not written yet.
    var inFlightCount: Int { (currentID == nil ? 0 : 1) + later.count }

    /// Whether a new request may be dispatched behind those in flight (`head` is the one that would be next).
    private func mayStart(_ head: HTTPRequestHead) -> Bool {
        guard currentID != nil || !later.isEmpty else { return true }
        if currentInfo.exclusive && currentID != nil || quiescing || inFlightCount >= limits.maxPipelinedRequests {
            return false
        }
        return !isExclusive(head)
    }

    /// Whether more requests may be read now (nothing waits, the client keeps up, room in flight).
    private var mayRead: Bool {
        guard pending.isEmpty, writable else { return false }
        guard currentID != nil else { return later.isEmpty || later.count < limits.maxPipelinedRequests }
        return !currentInfo.exclusive && later.count + 1 < limits.maxPipelinedRequests
    }

    /// Whether a request must not overlap others (see ``RequestInfo/exclusive``): an upgrade, CONNECT, the last
    /// request, `Expect`, or one that ``Limits/pipelineOverlap`` does not let overlap.
    func isExclusive(_ head: HTTPRequestHead) -> Bool {
        head.method == .CONNECT || !head.isKeepAlive || head.headers.contains(name: "upgrade")
            || head.headers.contains(name: "expect") || !limits.pipelineOverlap.allows(head)
    }

    // MARK: Reading

    /// A part arrived from the decoder.
    mutating func received(_ part: HTTPServerRequestPart) -> InboundAction {
        isInReadBurst = true
        switch state {
        case .closing, .upgraded:
            return .none
        case .idle, .receiving, .discarding:
            guard pending.isEmpty, writable else {
                pending.append(.part(part))
                return .none
            }
            if currentID != nil || !later.isEmpty, case .head(let head) = part, !mayStart(head) {
                pending.append(.part(part))  // behind an exclusive request or the in-flight limit
                return .none
            }
            return process(part)
        }
    }

    private mutating func process(_ part: HTTPServerRequestPart) -> InboundAction {
        switch part {
        case .head(let head):
            return receivedHead(head)
        case .body(var bytes):
            guard case .receiving(let request, let info, var body) = state else { return .none }
            let count = bytes.readableBytes
            guard bodyCharge.add(count) else {
                return refuse(.serviceUnavailable, "Server busy: its memory budget is spent, try again later")
            }
            receivingCharge &+= max(0, count)
            state = .idle  // let `body` be uniquely referenced while appending
            if body == nil {
                body = bytes
            } else {
                body!.writeBuffer(&bytes)
            }
            if body!.readableBytes > limits.maxRequestBodySize {
                return refuse(.contentTooLarge, "Request body is larger than \(limits.maxRequestBodySize) bytes")
            }
            state = .receiving(request, info, body: body)
            return .bodyAccepted(count: count)
        case .end:
            switch state {
            case .receiving:
                // Moved out of the state rather than copied: the request and its body change hands once.
                let received = state
                state = .idle
                guard case .receiving(let request, let info, let body) = consume received else { return .none }
                let id = nextID
                nextID &+= 1
                if currentID == nil, later.isEmpty {
                    currentID = id
                    currentInfo = info
                    currentCharged = receivingCharge
                    currentWriting = false
                } else {
                    later.append(Slot(id: id, info: info, charged: receivingCharge, phase: .handling))
                }
                receivingCharge = 0
                return .dispatch(Request(head: request, body: RequestBody(buffer: body ?? ByteBuffer())), id: id)
            case .discarding:
                state = .closing  // the refusal closes the connection; later requests are not answered
                return .none
            case .idle, .upgraded, .closing:
                return .none
            }
        }
    }

    /// Refuses the request being received: at once when nothing is in flight, otherwise in its turn.
    private mutating func refuse(_ status: HTTPResponse.Status, _ message: String) -> InboundAction {
        bodyCharge.release(receivingCharge)
        receivingCharge = 0
        state = .discarding
        let refusal = Refusal(status: status, message: message)
        guard currentID != nil || !later.isEmpty else { return .refuse(refusal) }
        let id = nextID
        nextID &+= 1
        let info = RequestInfo(keepAlive: false, isHead: false, acceptsChunked: false, upgradeHead: nil, exclusive: true)
        later.append(Slot(id: id, info: info, charged: 0, phase: .refusal(refusal)))
        return .none
    }

    private mutating func receivedHead(_ head: HTTPRequestHead) -> InboundAction {
        var headerBytes = 0
        var contentLength: Substring?
        var transferCoding: String?
        for header in head.headers {
            let nameLength = header.name.utf8.count
            headerBytes &+= nameLength &+ header.value.utf8.count
            // One pass finds the framing headers too (the decoder refuses duplicates and conflicts).
            if nameLength == 14, contentLength == nil, header.name.equalsIgnoringASCIICase("content-length") {
                contentLength = Substring(header.value)
            } else if nameLength == 17, header.name.equalsIgnoringASCIICase("transfer-encoding") {
                transferCoding = header.value
            }
        }
        if headerBytes > limits.maxHeaderSize {
            return refuse(
                .requestHeaderFieldsTooLarge,
                "Request header fields are larger than \(limits.maxHeaderSize) bytes"
            )
        }
        if let transferCoding, let unsupported = Self.unsupportedTransferCoding(transferCoding) {
            if unsupported.chunkedIsFinal {
                // RFC 9112 6.1: a transfer coding the server does not understand gets 501.
                return refuse(
                    .notImplemented,
                    "Transfer coding not supported: \(transferCoding.prefix(64)) (only chunked is)"
                )
            }
            // RFC 9112 6.3: without chunked last, the body's length cannot be determined.
            return refuse(.badRequest, "Transfer-Encoding must end with chunked")
        }
        if let length = contentLength.flatMap({ Int($0) }), length > limits.maxRequestBodySize {
            return refuse(.contentTooLarge, "Request body is larger than \(limits.maxRequestBodySize) bytes")
        }
        guard let request = HTTPRequest(converting: head, secure: isSecure) else {
            return refuse(.badRequest, "Invalid request head")
        }
        // The HTTP decoder stops parsing after a request that asks for an upgrade (or CONNECT): such a request
        // is the last one of the connection unless it switches protocols.
        let asksForUpgrade = head.method == .CONNECT || head.headers.contains(name: "upgrade")
        var info = RequestInfo(
            keepAlive: head.isKeepAlive && !asksForUpgrade,
            isHead: head.method == .HEAD,
            acceptsChunked: head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1),
            upgradeHead: asksForUpgrade ? head : nil
        )
        let sendContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
        info.exclusive = !info.keepAlive || sendContinue || !limits.pipelineOverlap.allows(head)
        state = .receiving(request, info, body: nil)
        return .headAccepted(chunked: transferCoding != nil, sendContinue: sendContinue)
    }

    /// What is wrong with a `Transfer-Encoding` value, `nil` when it is `chunked` alone (the only coding the server
    /// decodes); otherwise whether `chunked` is at least the final coding.
    static func unsupportedTransferCoding(_ value: String) -> (chunkedIsFinal: Bool, coding: String)? {
        if value.utf8.count == 7, value.lowercased() == "chunked" { return nil }
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        let codings = value.split(separator: ",", omittingEmptySubsequences: false).map { coding -> String in
            guard let first = coding.firstIndex(where: { !isBlank($0) }),
                let last = coding.lastIndex(where: { !isBlank($0) })
            else { return "" }
            return coding[first...last].lowercased()
        }
        if codings == ["chunked"] { return nil }
        return (codings.last == "chunked", value)
    }

    /// The channel asks to read: `true` to read now, `false` when the read is held back.
    mutating func readRequested() -> Bool {
        switch state {
        case .closing:
            // Keep reading (and dropping) until the close: bytes left unread at the close would make the kernel
            // answer with a reset, which can destroy the response the client has not read yet.
            return true
        case .idle, .receiving, .discarding, .upgraded:
            if mayRead { return true }
            readPending = true
            return false
        }
    }

    /// The read burst ended: `true` to flush the responses written during it.
    mutating func readComplete() -> Bool {
        isInReadBurst = false
        defer { flushAtReadComplete = false }
        return flushAtReadComplete
    }

    // MARK: Draining the queue

    /// Starts draining the queue; `false` when a drain further up the stack goes on (call nothing more then).
    mutating func startDraining() -> Bool {
        guard !draining else { return false }
        draining = true
        return true
    }

    /// Ends the drain started by ``startDraining()``: `true` to flush the answers it wrote.
    mutating func stopDraining() -> Bool {
        draining = false
        defer { flushAtDrainEnd = false }
        return flushAtDrainEnd
    }

    /// The next queued event to carry out, or why draining stops.
    mutating func nextQueued() -> DrainStep {
        if case .upgraded = state { return .wait }
        if currentID == nil, !later.isEmpty {
            switch later[later.startIndex].phase {
            case .handling, .writing:
                promote()
            case .ready:  // its turn came
                return .respond
            case .refusal(let refusal):  // nothing was dispatched behind it
                later.removeAll()
                return .inbound(.refuse(refusal))
            }
        }
        if case .closing = state { return .wait }  // resumed at the end of the answers in flight (or never)
        if let next = pending.first {
            guard writable else { return .wait }  // resumed by a writability change
            switch next {
            case .part(.head(let head)):
                guard mayStart(head) else { return .wait }  // resumed at the end of an answer
            case .part:
                break  // the rest of the request being received
            case .error:
                guard inFlightCount == 0 else { return .wait }  // answered in its turn
            }
            pending.removeFirst()
            switch next {
            case .part(let part): return .inbound(process(part))
            case .error(let error): return .parserError(answerParserError(error))
            }
        }
        guard writable else { return .wait }
        let cancel = writeTimerArmed  // caught up with the client
        writeTimerArmed = false
        let read = readPending && mayRead
        if read { readPending = false }
        return .caughtUp(cancelWriteTimer: cancel, read: read)
    }

    // MARK: Errors

    /// The decoder failed (an `HTTPParserError`) or the request timer refused chunk framing.
    mutating func parserFailed(_ error: any Error) -> ParserErrorAction {
        switch state {
        case .upgraded, .closing:
            return .none
        case .idle, .receiving, .discarding:
            guard pending.isEmpty, inFlightCount == 0 else {
                pending.append(.error(error))  // answered after the answers before it
                return .none
            }
            return answerParserError(error)
        }
    }

    private mutating func answerParserError(_ error: any Error) -> ParserErrorAction {
        pending.removeAll()
        if case .discarding = state {  // a response to this request went out already
            state = .closing
            return .close
        }
        state = .closing
        if case .headerOverflow = error as? HTTPParserError {
            return .answerAndClose(Refusal(status: .requestHeaderFieldsTooLarge, message: "Request header fields too large"))
        } else if error is RequestTimer.ChunkFramingTooLarge {
            return .answerAndClose(
                Refusal(
                    status: .badRequest,
                    message: "Chunk extensions or trailers larger than \(limits.maxChunkFramingBytes) bytes"
                )
            )
        }
        return .answerAndClose(Refusal(status: .badRequest, message: "Malformed HTTP request: \(error)"))
    }

    // MARK: Responding

    /// The responder of request `id` produced `response`: write it now if its turn has come, otherwise hold it.
    mutating func responseReady(_ response: Response, for id: RequestID) -> ResponseAction {
        guard currentID == id, !currentWriting else { return hold(response, for: id) }
        bodyCharge.release(currentCharged)  // the responder is done with the request's body
        currentCharged = 0
        currentWriting = true
        return Self.decide(response, for: currentInfo, last: quiescing && later.isEmpty && !isReceiving)
    }

    /// The answer whose turn came (after ``DrainStep/respond``), and how to write it.
    mutating func takeHeldAnswer() -> (ResponseAction, Response)? {
        guard currentID == nil, !later.isEmpty, case .ready(let response) = later[later.startIndex].phase else {
            return nil
        }
        later[later.startIndex].phase = .writing
        promote()
        currentWriting = true
        return (Self.decide(response, for: currentInfo, last: quiescing && later.isEmpty && !isReceiving), response)
    }

    /// Makes the first request of `later` the current one.
    private mutating func promote() {
        let next = later.removeFirst()
        currentID = next.id
        currentInfo = next.info
        currentCharged = next.charged
        currentWriting = false
    }

    /// Keeps the answer of a request behind the current one until its turn.
    private mutating func hold(_ response: Response, for id: RequestID) -> ResponseAction {
        guard let first = later.first?.id else { return .none }  // the connection went away meanwhile
        let index = id &- first  // ids of the requests in flight follow each other
        guard index >= 0, index < later.count else { return .none }
        let position = later.index(later.startIndex, offsetBy: index)
        guard later[position].id == id, case .handling = later[position].phase else { return .none }
        bodyCharge.release(later[position].charged)
        later[position].charged = 0
        later[position].phase = .ready(response)
        return .none
    }

    /// How to write `response` to the request described by `info`, now that its turn has come; `last`: a graceful
    /// shutdown ends the connection after it (the last answer in flight).
    private static func decide(_ response: Response, for info: RequestInfo, last: Bool) -> ResponseAction {
        guard response.webSocketUpgrade != nil else {
            var keepAlive = info.keepAlive && !last && !Self.asksToClose(response)
            if case .stream = response.body.storage, !info.acceptsChunked {
                keepAlive = false  // HTTP/1.0: the end of the body is the close
            }
            return .write(info, keepAlive: keepAlive)
        }
        let keepAlive = info.keepAlive && !last
        guard let head = info.upgradeHead, head.method == .GET, WebSocketHandshake.asksForWebSocket(head) else {
            // A WebSocket route reached without an upgrade handshake.
            let refusal = Refusal(status: .badRequest, message: "This endpoint expects a WebSocket upgrade")
            return .refuse(refusal, info, keepAlive: keepAlive)
        }
        guard head.headers.first(name: "sec-websocket-key").map(Self.isValidWebSocketKey) == true else {
            let refusal = Refusal(status: .badRequest, message: "Sec-WebSocket-Key must be base64 of 16 bytes")
            return .refuse(refusal, info, keepAlive: keepAlive)
        }
        return .upgrade(head)
    }

    private var isReceiving: Bool {
        if case .receiving = state { return true }
        return false
    }

    /// The upgrade handshake was refused by the WebSocket upgrader (after ``ResponseAction/upgrade(_:)``).
    mutating func upgradeFailed() -> ResponseAction {
        guard currentID != nil else { return .none }
        let refusal = Refusal(status: .badRequest, message: "Invalid WebSocket handshake")
        return .refuse(refusal, currentInfo, keepAlive: currentInfo.keepAlive && !quiescing)
    }

    /// The upgrade handshake was accepted: `true` to switch the connection (it is still there).
    mutating func upgradeAccepted() -> Bool {
        guard currentID != nil else { return false }
        currentID = nil
        later.removeAll()
        state = .upgraded
        return true
    }

    /// Whether a request is in flight: its answer is produced or written (a streamed body may still write).
    var isResponding: Bool { currentID != nil }

    /// The last bytes of the current answer are ready (`keepAlive` as decided when it started).
    mutating func responseEnded(keepAlive: Bool) -> EndAction {
        currentID = nil
        if !later.isEmpty, case .handling = later.first!.phase { promote() }  // a ready answer waits for the drain
        guard keepAlive, !quiescing || !later.isEmpty || currentID != nil || isReceiving else {
            close()
            return .close
        }
        let idle: Bool
        if currentID == nil, later.isEmpty, case .idle = state { idle = true } else { idle = false }
        if isInReadBurst {
            flushAtReadComplete = true
            return .keepAlive(flushNow: false, idle: idle)
        }
        if draining {
            flushAtDrainEnd = true
            return .keepAlive(flushNow: false, idle: idle)
        }
        return .keepAlive(flushNow: true, idle: idle)
    }

    /// A streamed body failed: `true` to close the connection (the client must not mistake a cut body for a
    /// complete one).
    mutating func streamFailed() -> Bool {
        guard isResponding else { return false }
        close()
        return true
    }

    /// Nothing more is read or answered; the requests in flight are forgotten.
    private mutating func close() {
        state = .closing
        pending.removeAll()
        currentID = nil
        later.removeAll()
    }

    static func mayHaveBody(_ status: Int) -> Bool {
        status >= 200 && status != 204 && status != 304
    }

    /// Whether the handler set `Connection: close`.
    private static func asksToClose(_ response: Response) -> Bool {
        guard let connection = response.headers[.connection] else { return false }
        return connection.lowercased().contains("close")
    }

    /// Whether `key` is the base64 encoding of 16 bytes (RFC 6455 4.1): 22 base64 digits, the last of which
    /// carries only 2 bits, then `==`.
    static func isValidWebSocketKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        for byte in bytes[0..<22] {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                continue
            default:
                return false
            }
        }
        // The last digit's low 4 bits are padding and must be zero: A, Q, g or w.
        return "AQgw".utf8.contains(bytes[21])
    }

    // MARK: Write backpressure

    /// The channel's writability changed.
    mutating func writabilityChanged(_ isWritable: Bool) -> WritabilityAction {
        writable = isWritable
        if isWritable {
            outboundCharge.releaseAll()
            return .drain  // cancels the write timer once nothing is held back
        }
        if outboundCharge.bytes == 0, !outboundCharge.add(limits.maxQueuedResponseBytes) {
            // Behind, and the server has no memory left for what it holds for this client.
            close()
            return .close
        }
        guard !writeTimerArmed else { return .none }
        writeTimerArmed = true
        return .startWriteTimer
    }

    /// The write timer fired: `true` to close the connection, whose client has not drained what it was sent since
    /// the timer started (flapping writability while requests stay queued does not count as catching up).
    mutating func writeTimerFired() -> Bool {
        guard writeTimerArmed else { return false }
        writeTimerArmed = false
        guard !writable || !pending.isEmpty else { return false }
        close()
        return true
    }

    // MARK: Connection events

    /// Graceful shutdown: `true` to close now (nothing in flight); otherwise nothing new is dispatched and the last
    /// answer in flight (or the answer to the request being received) is the last.
    mutating func quiesce() -> Bool {
        quiescing = true
        guard inFlightCount == 0 else { return false }
        switch state {
        case .idle, .discarding:
            close()
            return true
        case .receiving, .upgraded, .closing:
            return false
        }
    }

    /// The connection closed.
    mutating func closed() {
        close()
        writeTimerArmed = false
        receivingCharge = 0
        bodyCharge.releaseAll()
        outboundCharge.releaseAll()
    }

    /// The handler leaves the pipeline (after an upgrade, or at the close): whether to flush what the read burst
    /// wrote, and whether to read (a read held back while the upgrade was answered must happen now).
    mutating func removed() -> (flush: Bool, read: Bool) {
        receivingCharge = 0
        bodyCharge.releaseAll()
        outboundCharge.releaseAll()
        defer {
            flushAtReadComplete = false
            readPending = false
            writeTimerArmed = false
        }
        return (flushAtReadComplete, readPending)
    }
}
