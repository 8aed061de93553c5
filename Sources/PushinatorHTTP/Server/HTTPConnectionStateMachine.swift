import HTTPTypes
import NIOCore
import NIOHTTP1

/// The protocol state of one HTTP/1.1 server connection, without I/O.
///
/// ``HTTPConnectionHandler`` feeds it what happens on the connection (request parts from the decoder, parser
/// errors, a response ready, the end of a response, writability changes, the write timer, a read request, graceful
/// shutdown) and carries out the action each call returns. The machine decides:
/// - pipelining: parts that arrive while a response is pending are queued, and reads are held back until the queue
///   is drained, so responses leave in order and a flood of pipelined requests costs at most one read's worth of
///   memory;
/// - read gating on output: while the channel is not writable (more than the high-water mark waits for the client)
///   requests are queued instead of answered and reads are held back; the first time it falls behind the write
///   timer starts, and it is cancelled once the client has caught up (writable, nothing held back);
/// - limits: header size (431), body size (413), transfer codings (501/400), a parser error (400, or 431);
/// - keep-alive: whether a response is the last one (request, `Connection: close` answer, graceful shutdown);
/// - upgrades: whether a WebSocket acceptance becomes an upgrade or a 400;
/// - flush batching: responses finished during a read burst are flushed once at its end.
///
/// What the client makes the connection hold is charged to the process-wide ``MemoryBudget``: the request body
/// being received (until the responder is done with it; a refusal answers 503), and ``HTTPServerConfiguration/
/// maxQueuedResponseBytes`` while the client is behind (a refusal closes the connection).
///
/// A `struct` mutated in place: no call allocates, and the only existential is the parser error (an error path).
struct HTTPConnectionStateMachine {
    /// The limits the machine enforces.
    struct Limits {
        var maxRequestBodySize: Int
        var maxHeaderSize: Int
        var maxChunkFramingBytes: Int
        var maxQueuedResponseBytes: Int
        var memoryBudget: MemoryBudget

        init(
            maxRequestBodySize: Int,
            maxHeaderSize: Int,
            maxChunkFramingBytes: Int,
            maxQueuedResponseBytes: Int = 64 * 1024,
            memoryBudget: MemoryBudget = .shared
        ) {
            self.maxRequestBodySize = maxRequestBodySize
            self.maxHeaderSize = maxHeaderSize
            self.maxChunkFramingBytes = maxChunkFramingBytes
            self.maxQueuedResponseBytes = maxQueuedResponseBytes
            self.memoryBudget = memoryBudget
        }

        init(_ configuration: HTTPServerConfiguration) {
            self.init(
                maxRequestBodySize: configuration.maxRequestBodySize,
                maxHeaderSize: configuration.maxHeaderSize,
                maxChunkFramingBytes: configuration.maxChunkFramingBytes,
                maxQueuedResponseBytes: configuration.maxQueuedResponseBytes,
                memoryBudget: configuration.memoryBudget
            )
        }
    }

    /// What the response to the current request needs to know about it.
    struct RequestInfo {
        var keepAlive: Bool
        var isHead: Bool
        /// Whether the client understands chunked bodies (HTTP/1.1).
        var acceptsChunked: Bool
        /// The original head, kept only for requests that ask for an upgrade.
        var upgradeHead: HTTPRequestHead?
    }

    enum State {
        case idle
        case receiving(HTTPRequest, RequestInfo, body: ByteBuffer?)
        /// A response for the current request was already sent (413, 431, ...); the rest of the request is ignored.
        case discarding
        /// The request is complete and its response is being produced or streamed.
        case responding(RequestInfo)
        /// The connection speaks WebSocket now.
        case upgraded
        /// The connection is closing: what arrives is dropped, nothing more is answered.
        case closing
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
        /// Answer the current request with an error, half-close, then close (the rest of it is ignored).
        case refuse(Refusal)
        /// The request is complete: run the responder.
        case dispatch(Request)
    }

    /// What to do about input the decoder could not parse.
    enum ParserErrorAction: Equatable {
        /// Nothing now (it waits behind a pending response, or the connection is closing already).
        case none
        /// Close the connection (a response to this request went out already).
        case close
        /// Write this error response, then close.
        case answerAndClose(Refusal)
    }

    /// What to do with a response the responder produced.
    enum ResponseAction {
        /// Nothing: the connection went away meanwhile.
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
        /// Write them; flush now (or wait for the end of the read burst); then drain the queue.
        case keepAlive(flushNow: Bool)
        /// Write and flush them, then close the connection.
        case close
    }

    /// One step of draining the queued events.
    enum DrainStep {
        /// Carry out this action for a queued part, then ask again.
        case inbound(InboundAction)
        /// Carry out this action for a queued parser error, then ask again.
        case parserError(ParserErrorAction)
        /// Stop: a response is pending or the client is behind; draining resumes on its own.
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

    /// An inbound event held back while a response is pending.
    private enum Pending {
        case part(HTTPServerRequestPart)
        /// An `HTTPParserError` or a ``RequestTimer/ChunkFramingTooLarge``.
        case error(any Error)
    }

    let limits: Limits
    let isSecure: Bool
    private(set) var state = State.idle
    /// Set by a graceful shutdown: the current response is the last one.
    private(set) var quiescing = false
    private var pending = CircularBuffer<Pending>(initialCapacity: 0)
    /// A `read` held back while a response is pending or the client is behind.
    private var readPending = false
    /// Whether a drain is in progress (a response finished synchronously while draining).
    private var draining = false
    /// From the first read of a burst to its read-complete.
    private var isInReadBurst = false
    /// A response was written during the read burst and waits for the flush at its end.
    private var flushAtReadComplete = false
    /// Whether the channel takes more writes.
    private(set) var writable = true
    private(set) var writeTimerArmed = false
    /// The current request's body bytes, charged to the memory budget until the responder is done with them.
    private var bodyCharge: MemoryCharge
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

    /// The number of events waiting behind a pending response (for tests).
    var queuedCount: Int { pending.count }

    // MARK: Reading

    /// A part arrived from the decoder.
    mutating func received(_ part: HTTPServerRequestPart) -> InboundAction {
        isInReadBurst = true
        switch state {
        case .closing, .upgraded:
            return .none
        case .responding:
            pending.append(.part(part))
            return .none
        case .idle, .receiving, .discarding:
            guard pending.isEmpty, writable else {
                pending.append(.part(part))
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
                let current = state
                state = .idle
                guard case .receiving(let request, let info, let body) = consume current else { return .none }
                state = .responding(info)
                return .dispatch(Request(head: request, body: RequestBody(buffer: body ?? ByteBuffer())))
            case .discarding:
                state = .closing  // the refusal closes the connection; later requests are not answered
                return .none
            case .idle, .responding, .upgraded, .closing:
                return .none
            }
        }
    }

    private mutating func refuse(_ status: HTTPResponse.Status, _ message: String) -> InboundAction {
        bodyCharge.releaseAll()
        state = .discarding
        return .refuse(Refusal(status: status, message: message))
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
        let info = RequestInfo(
            keepAlive: head.isKeepAlive && !asksForUpgrade,
            isHead: head.method == .HEAD,
            acceptsChunked: head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1),
            upgradeHead: asksForUpgrade ? head : nil
        )
        let sendContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
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
        case .responding:
            readPending = true
            return false
        case .closing:
            // Keep reading (and dropping) until the close: bytes left unread at the close would make the kernel
            // answer with a reset, which can destroy the response the client has not read yet.
            return true
        case .idle, .receiving, .discarding, .upgraded:
            if pending.isEmpty, writable { return true }
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

    /// Ends the drain started by ``startDraining()``.
    mutating func stopDraining() {
        draining = false
    }

    /// The next queued event to carry out, or why draining stops.
    mutating func nextQueued() -> DrainStep {
        switch state {
        case .responding, .upgraded, .closing:
            return .wait  // resumed at the end of the response (or never)
        case .idle, .receiving, .discarding:
            break
        }
        if let next = pending.first {
            guard writable else { return .wait }  // resumed by a writability change
            pending.removeFirst()
            switch next {
            case .part(let part): return .inbound(process(part))
            case .error(let error): return .parserError(answerParserError(error))
            }
        }
        guard writable else { return .wait }
        let cancel = writeTimerArmed  // caught up with the client
        writeTimerArmed = false
        let read = readPending
        readPending = false
        return .caughtUp(cancelWriteTimer: cancel, read: read)
    }

    // MARK: Errors

    /// The decoder failed (an `HTTPParserError`) or the request timer refused chunk framing.
    mutating func parserFailed(_ error: any Error) -> ParserErrorAction {
        switch state {
        case .responding:
            pending.append(.error(error))  // answered after the responses before it
            return .none
        case .upgraded, .closing:
            return .none
        case .idle, .receiving, .discarding:
            guard pending.isEmpty else {
                pending.append(.error(error))
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

    /// The responder produced `response` for the current request.
    mutating func responseReady(_ response: Response) -> ResponseAction {
        bodyCharge.releaseAll()  // the responder is done with the request's body
        guard case .responding(let info) = state else { return .none }  // the connection went away meanwhile
        guard response.webSocketUpgrade != nil else {
            var keepAlive = info.keepAlive && !quiescing && !Self.asksToClose(response)
            if case .stream = response.body.storage, !info.acceptsChunked {
                keepAlive = false  // HTTP/1.0: the end of the body is the close
            }
            return .write(info, keepAlive: keepAlive)
        }
        let keepAlive = info.keepAlive && !quiescing
        guard let head = info.upgradeHead, head.method == .GET,
            head.headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" })
        else {
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

    /// The upgrade handshake was refused by the WebSocket upgrader (after ``ResponseAction/upgrade(_:)``).
    mutating func upgradeFailed() -> ResponseAction {
        guard case .responding(let info) = state else { return .none }
        let refusal = Refusal(status: .badRequest, message: "Invalid WebSocket handshake")
        return .refuse(refusal, info, keepAlive: info.keepAlive && !quiescing)
    }

    /// The upgrade handshake was accepted: `true` to switch the connection (it is still there).
    mutating func upgradeAccepted() -> Bool {
        guard case .responding = state else { return false }
        state = .upgraded
        return true
    }

    /// Whether a response is being produced or streamed (a streamed body may still write).
    var isResponding: Bool {
        if case .responding = state { return true }
        return false
    }

    /// The last bytes of the current response are ready (`keepAlive` as decided when it started).
    mutating func responseEnded(keepAlive: Bool) -> EndAction {
        guard keepAlive, !quiescing else {
            state = .closing
            return .close
        }
        state = .idle
        if isInReadBurst {
            flushAtReadComplete = true
            return .keepAlive(flushNow: false)
        }
        return .keepAlive(flushNow: true)
    }

    /// A streamed body failed: `true` to close the connection (the client must not mistake a cut body for a
    /// complete one).
    mutating func streamFailed() -> Bool {
        guard case .responding = state else { return false }
        state = .closing
        return true
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
            state = .closing
            pending.removeAll()
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
        state = .closing
        pending.removeAll()
        return true
    }

    // MARK: Connection events

    /// Graceful shutdown: `true` to close now (nothing in flight); otherwise the current response is the last.
    mutating func quiesce() -> Bool {
        quiescing = true
        switch state {
        case .idle, .discarding:
            state = .closing
            pending.removeAll()
            return true
        case .receiving, .responding, .upgraded, .closing:
            return false
        }
    }

    /// The connection closed.
    mutating func closed() {
        state = .closing
        pending.removeAll()
        writeTimerArmed = false
        bodyCharge.releaseAll()
        outboundCharge.releaseAll()
    }

    /// The handler leaves the pipeline (after an upgrade, or at the close): whether to flush what the read burst
    /// wrote, and whether to read (a read held back while the upgrade was answered must happen now).
    mutating func removed() -> (flush: Bool, read: Bool) {
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
