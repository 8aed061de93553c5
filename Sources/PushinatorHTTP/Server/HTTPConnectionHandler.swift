import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Serves the requests of one connection: turns the decoder's request parts into ``Request`` values, runs the
/// responder, writes the responses as bytes, answers malformed input, and switches the connection to WebSocket
/// when a route accepts an upgrade.
///
/// The pipeline is `[TLS] → RequestTimer → HTTP decoder → this handler`. This handler does what NIO's response
/// encoder, pipelining handler and protocol error handler would, on one object, so a response costs one write
/// through one handler:
/// - pipelining: parts that arrive while a response is pending are queued and reading stops until it is sent,
///   so responses leave in order and a flood of pipelined requests costs at most one read's worth of memory;
/// - write backpressure: while more than ``HTTPServerConfiguration/maxQueuedResponseBytes`` wait for the client
///   (the channel is not writable), requests are queued instead of answered and reading stops; it resumes when
///   the client drains them, and a client that has not caught up (writable, nothing held back) within
///   ``HTTPServerConfiguration/writeTimeout`` of falling behind is closed. A client that pipelines requests without reading the answers holds a bounded amount of memory;
/// - transfer codings other than `chunked` get 501, an invalid `Sec-WebSocket-Key` gets 400;
/// - errors: input the decoder cannot parse gets a JSON 400 (431 for a head over the limit), then the close;
/// - graceful shutdown (`ChannelShouldQuiesceEvent`): an idle connection closes at once, a busy one after its
///   current response, which says `Connection: close`.
///
/// A handler that does not suspend runs synchronously on the event loop (`Task.immediate`, or no task at all for
/// synchronous routes), and one that suspends resumes there (``EventLoopTaskExecutor``), which keeps the request
/// path free of thread hops.
///
/// Upgrades are handled here rather than by NIO's `HTTPServerUpgradeHandler`, so that:
/// - the router runs exactly once per request, upgrade or not;
/// - an upgrade works on any request of a keep-alive connection, not only the first (swift-nio #680);
/// - a refused upgrade is an ordinary response followed by closing the connection: the HTTP decoder stops
///   parsing after a request that asks for an upgrade, so the connection cannot carry another request
///   (swift-nio #2632);
/// - bytes sent right behind the handshake stay in the HTTP decoder and are forwarded to the WebSocket frame
///   decoder when the HTTP decoder leaves the pipeline (swift-nio #1003).
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The other HTTP handlers of the connection, removed when it switches to WebSocket.
    struct HTTPHandlers {
        let timer: RequestTimer?
        let decoder: ByteToMessageHandler<HTTPRequestDecoder>
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

    /// An inbound event held back while a response is pending.
    private enum Pending {
        case part(HTTPServerRequestPart)
        /// An `HTTPParserError` or a ``RequestTimer/ChunkFramingTooLarge``.
        case error(any Error)
    }

    let responder: any HTTPResponder
    /// The responder when it is a ``Router``, which can answer some requests without a task.
    let router: Router?
    let configuration: HTTPServerConfiguration
    let logger: Logger
    let isSecure: Bool
    let handlers: HTTPHandlers
    var state = State.idle
    /// Set by a graceful shutdown: the current response is the last one.
    var quiescing = false
    private var remoteAddress: SocketAddress?
    private var pending = CircularBuffer<Pending>(initialCapacity: 0)
    /// A `read` held back while a response is pending.
    private var readPending = false
    /// Whether ``drainPending(context:)`` is on the stack (a response finished synchronously while draining).
    private var draining = false
    /// Set from the first `channelRead` of a read burst to its `channelReadComplete`: responses finished in
    /// between are flushed together at the end of the burst, so pipelined requests answered on the spot leave in
    /// one system call instead of one each.
    var isInReadBurst = false
    /// A response was written during the read burst and waits for the flush at its end.
    var flushAtReadComplete = false
    /// Whether the channel takes more writes: `false` while more than the high-water mark waits for the client.
    private var writable = true
    /// Closes the connection if the client does not drain its responses in time; pending while not writable.
    private var writeTimer: LoopTimers.Timer?
    /// The current request's body bytes, charged to the memory budget until its response is written.
    private var bodyCharge: MemoryCharge
    /// `maxQueuedResponseBytes`, charged to the memory budget while the client is behind (not writable).
    private var outboundCharge: MemoryCharge

    init(
        responder: any HTTPResponder,
        configuration: HTTPServerConfiguration,
        logger: Logger,
        isSecure: Bool,
        handlers: HTTPHandlers
    ) {
        self.responder = responder
        self.router = responder as? Router
        self.configuration = configuration
        self.logger = logger
        self.isSecure = isSecure
        self.handlers = handlers
        self.bodyCharge = MemoryCharge(configuration.memoryBudget, for: .httpRequestBody)
        self.outboundCharge = MemoryCharge(configuration.memoryBudget, for: .httpOutbound)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        remoteAddress = context.channel.remoteAddress
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        bodyCharge.releaseAll()
        outboundCharge.releaseAll()
        writeTimer?.cancel()
        writeTimer = nil
        if flushAtReadComplete {
            flushAtReadComplete = false
            context.flush()
        }
        // Leaving for WebSocket: a read held back while the upgrade was answered must happen now.
        if readPending {
            readPending = false
            context.read()
        }
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        isInReadBurst = true
        let part = unwrapInboundIn(data)
        switch state {
        case .closing, .upgraded:
            return
        case .responding:
            pending.append(.part(part))
        case .idle, .receiving, .discarding:
            if pending.isEmpty, writable { handle(part, context: context) } else { pending.append(.part(part)) }
        }
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            receivedHead(head, context: context)
        case .body(var bytes):
            guard case .receiving(let request, let info, var body) = state else { return }
            handlers.timer?.bodyPartReceived(bytes.readableBytes)
            guard bodyCharge.add(bytes.readableBytes) else {
                refuse(.serviceUnavailable, message: "Server busy: its memory budget is spent, try again later", context: context)
                return
            }
            state = .idle  // let `body` be uniquely referenced while appending
            if body == nil {
                body = bytes
            } else {
                body!.writeBuffer(&bytes)
            }
            if body!.readableBytes > configuration.maxRequestBodySize {
                refuse(
                    .contentTooLarge,
                    message: "Request body is larger than \(configuration.maxRequestBodySize) bytes",
                    context: context
                )
            } else {
                state = .receiving(request, info, body: body)
            }
        case .end:
            switch state {
            case .receiving(let request, let info, let body):
                handlers.timer?.bodyReceived()
                state = .responding(info)
                dispatch(Request(head: request, body: RequestBody(buffer: body ?? ByteBuffer())), context: context)
            case .discarding:
                state = .closing  // the refusal closes the connection; later requests are not answered
            case .idle, .responding, .upgraded, .closing:
                break
            }
        }
    }

    private func receivedHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headerBytes = 0
        var contentLength: Substring?
        var transferCoding: String?
        for header in head.headers {
            let nameLength = header.name.utf8.count
            headerBytes &+= nameLength &+ header.value.utf8.count
            // One pass finds the framing headers too (the decoder refuses duplicates and conflicts).
            if nameLength == 14, contentLength == nil, header.name.lowercased() == "content-length" {
                contentLength = Substring(header.value)
            } else if nameLength == 17, header.name.lowercased() == "transfer-encoding" {
                transferCoding = header.value
            }
        }
        handlers.timer?.headReceived(chunked: transferCoding != nil)
        if headerBytes > configuration.maxHeaderSize {
            refuse(
                .requestHeaderFieldsTooLarge,
                message: "Request header fields are larger than \(configuration.maxHeaderSize) bytes",
                context: context
            )
            return
        }
        if let transferCoding, let unsupported = Self.unsupportedTransferCoding(transferCoding) {
            if unsupported.chunkedIsFinal {
                // RFC 9112 6.1: a transfer coding the server does not understand gets 501.
                refuse(
                    .notImplemented,
                    message: "Transfer coding not supported: \(transferCoding.prefix(64)) (only chunked is)",
                    context: context
                )
            } else {
                // RFC 9112 6.3: without chunked last, the body's length cannot be determined.
                refuse(.badRequest, message: "Transfer-Encoding must end with chunked", context: context)
            }
            return
        }
        if let length = contentLength.flatMap({ Int($0) }),
            length > configuration.maxRequestBodySize
        {
            refuse(
                .contentTooLarge,
                message: "Request body is larger than \(configuration.maxRequestBodySize) bytes",
                context: context
            )
            return
        }
        guard let request = HTTPRequest(converting: head, secure: isSecure) else {
            refuse(.badRequest, message: "Invalid request head", context: context)
            return
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
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            var interim = context.channel.allocator.buffer(capacity: 32)
            interim.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
            context.writeAndFlush(wrapOutboundOut(interim), promise: nil)
        }
        state = .receiving(request, info, body: nil)
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

    /// Hands the queued parts to ``handle(_:context:)`` until a response is pending again or the client stops
    /// reading its responses, then lets reading resume once the queue is empty.
    func drainPending(context: ChannelHandlerContext) {
        guard !draining else { return }  // the loop further up the stack goes on
        draining = true
        defer { draining = false }
        while let next = pending.first {
            switch state {
            case .responding, .upgraded, .closing:
                return
            case .idle, .receiving, .discarding:
                break
            }
            guard writable else { return }  // resumed by channelWritabilityChanged
            pending.removeFirst()
            switch next {
            case .part(let part): handle(part, context: context)
            case .error(let error): answerParserError(error, context: context)
            }
        }
        if writable, let timer = writeTimer {  // caught up with the client
            timer.cancel()
            writeTimer = nil
        }
        if readPending, writable {
            readPending = false
            context.read()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        isInReadBurst = false
        if flushAtReadComplete {
            flushAtReadComplete = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        switch state {
        case .responding:
            readPending = true
        case .closing:
            // Keep reading (and dropping) until the close: bytes left unread at the close would make the kernel
            // answer with a reset, which can destroy the response the client has not read yet.
            context.read()
        case .idle, .receiving, .discarding, .upgraded:
            if pending.isEmpty, writable { context.read() } else { readPending = true }
        }
    }

    // MARK: Write backpressure

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        if writable {
            outboundCharge.releaseAll()
        } else if outboundCharge.bytes == 0, !outboundCharge.add(configuration.maxQueuedResponseBytes) {
            state = .closing  // behind, and the server has no memory left for what it holds for this client
            pending.removeAll()
            context.close(promise: nil)
        }
        if writable {
            drainPending(context: context)  // cancels the write timer once nothing is held back
        } else if writeTimer == nil {
            let timeout = TimeAmount(configuration.writeTimeout)
            writeTimer = LoopTimers.on(context.eventLoop).schedule(in: timeout) { [weak self] in
                // Still behind: the client has not drained what it was sent since the timer started (flapping
                // writability while requests stay queued does not count as catching up).
                guard let self, !self.writable || !self.pending.isEmpty else { return }
                self.writeTimer = nil
                self.state = .closing
                self.pending.removeAll()
                self.logger.debug(
                    "closing a connection whose client does not read its responses",
                    metadata: ["http.remote": "\(self.remoteAddress.map { "\($0)" } ?? "?")"]
                )
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Dispatch

    private func dispatch(_ request: Request, context: ChannelHandlerContext) {
        var requestContext = RequestContext(
            logger: logger,
            eventLoop: context.eventLoop,
            remoteAddress: remoteAddress,
            isSecure: isSecure
        )
        requestContext.remainingPath = request.path
        if let router, let response = router.respondSynchronously(to: request, context: requestContext) {
            finish(response, context: context)
            return
        }
        let responder = self.responder
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
        Task.immediate(executorPreference: EventLoopTaskExecutor.current(on: eventLoop)) {
            let response: Response
            do {
                response = try await responder.respond(to: request, context: requestContext)
            } catch {
                response = ErrorRendering.response(for: error, request: request, logger: requestContext.logger)
            }
            if eventLoop.inEventLoop {
                let (handler, context) = bound.value
                handler.finish(response, context: context)
            } else {
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.finish(response, context: context)
                }
            }
        }
    }

    private func finish(_ response: Response, context: ChannelHandlerContext) {
        bodyCharge.releaseAll()  // the responder is done with the request's body
        guard case .responding(let info) = state else { return }  // the connection went away meanwhile
        if let upgrade = response.webSocketUpgrade {
            if let head = info.upgradeHead, head.method == .GET,
                head.headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" })
            {
                guard head.headers.first(name: "sec-websocket-key").map(Self.isValidWebSocketKey) == true else {
                    let refusal = HTTPError(.badRequest, message: "Sec-WebSocket-Key must be base64 of 16 bytes")
                        .response(for: Self.placeholderRequest)
                    write(refusal, info: info, context: context)
                    return
                }
                performUpgrade(upgrade, head: head, context: context)
            } else {
                // A WebSocket route reached without an upgrade handshake.
                let refusal = HTTPError(.badRequest, message: "This endpoint expects a WebSocket upgrade")
                    .response(for: Self.placeholderRequest)
                write(refusal, info: info, context: context)
            }
            return
        }
        write(response, info: info, context: context)
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

    static let placeholderRequest = Request(
        head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")
    )

    // MARK: Errors and refusals

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError || error is RequestTimer.ChunkFramingTooLarge else {
            context.fireErrorCaught(error)
            return
        }
        switch state {
        case .responding:
            pending.append(.error(error))  // answered after the responses before it
        case .upgraded, .closing:
            return
        case .idle, .receiving, .discarding:
            if pending.isEmpty { answerParserError(error, context: context) } else { pending.append(.error(error)) }
        }
    }

    /// Answers input the decoder cannot parse (or chunk framing over the limit) with a JSON error, then closes the
    /// connection.
    private func answerParserError(_ error: any Error, context: ChannelHandlerContext) {
        if case .discarding = state {  // a response to this request went out already
            state = .closing
            context.close(promise: nil)
            return
        }
        let (status, message): (HTTPResponse.Status, String) =
            if case .headerOverflow = error as? HTTPParserError {
                (.requestHeaderFieldsTooLarge, "Request header fields too large")
            } else if error is RequestTimer.ChunkFramingTooLarge {
                (.badRequest, "Chunk extensions or trailers larger than \(configuration.maxChunkFramingBytes) bytes")
            } else {
                (.badRequest, "Malformed HTTP request: \(error)")
            }
        let response = HTTPError(status, message: message).response(for: Self.placeholderRequest)
        state = .closing
        pending.removeAll()
        let buffer = encode(response, keepAlive: false, isHead: false, context: context)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Answers the current request with an error before its body was read, then closes the connection.
    ///
    /// The connection is half-closed first, so a client still sending its body reads the response instead of
    /// seeing a reset; it is closed fully when the client closes or after a short grace period.
    private func refuse(_ status: HTTPResponse.Status, message: String, context: ChannelHandlerContext) {
        bodyCharge.releaseAll()
        state = .discarding
        let response = HTTPError(status, message: message).response(for: Self.placeholderRequest)
        let buffer = encode(response, keepAlive: false, isHead: false, context: context)
        handlers.timer?.requestFinished()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    // MARK: Channel events

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        quiescing = true
        switch state {
        case .idle, .discarding:
            state = .closing
            pending.removeAll()
            context.close(promise: nil)
        case .receiving, .responding:
            break  // closed after this response (see `writeEnd`)
        case .upgraded, .closing:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        bodyCharge.releaseAll()
        outboundCharge.releaseAll()
        state = .closing
        pending.removeAll()
        context.fireChannelInactive()
    }
}

extension HTTPRequest {
    /// Converts a NIO request head without the URL parsing of the general conversion; `nil` when the method
    /// is invalid.
    init?(converting head: HTTPRequestHead, secure: Bool) {
        let method: HTTPRequest.Method
        switch head.method {
        case .GET: method = .get
        case .POST: method = .post
        case .PUT: method = .put
        case .DELETE: method = .delete
        case .HEAD: method = .head
        case .OPTIONS: method = .options
        case .PATCH: method = .patch
        default:
            guard let converted = try? HTTPRequest.Method(head.method) else { return nil }
            method = converted
        }
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        var authority: String?
        for (name, value) in head.headers {
            if authority == nil, name.utf8.count == 4, name.lowercased() == "host" {
                authority = value
                continue
            }
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        let path: String
        if head.uri.utf8.first == UInt8(ascii: "/") || head.uri == "*" || method == .connect {
            path = head.uri
        } else if let converted = try? HTTPRequest(head, secure: secure, splitCookie: false) {
            path = converted.path ?? "/"  // absolute form
        } else {
            return nil
        }
        self.init(
            method: method,
            scheme: method == .connect ? nil : (secure ? "https" : "http"),
            authority: authority,
            path: method == .connect ? nil : path,
            headerFields: fields
        )
    }
}
