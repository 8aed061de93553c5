import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Turns the request parts of one connection into ``Request`` values, runs the responder, writes responses, and
/// switches the connection to WebSocket when a route accepts an upgrade.
///
/// `HTTPServerPipelineHandler` in front of it delivers one request at a time, so responses leave in order.
/// Bodies are collected up to the configured limit (413 beyond it). A handler that does not suspend runs
/// synchronously on the event loop (`Task.immediate`), which keeps the common path free of thread hops.
///
/// Upgrades are handled here rather than by NIO's `HTTPServerUpgradeHandler`, so that:
/// - the router runs exactly once per request, upgrade or not;
/// - an upgrade works on any request of a keep-alive connection, not only the first (swift-nio #680);
/// - a refused upgrade is an ordinary response followed by closing the connection: the HTTP decoder stops
///   parsing after a request that asks for an upgrade, so the connection cannot carry another request
///   (swift-nio #2632);
/// - bytes sent right behind the handshake stay in the HTTP decoder and are forwarded to the WebSocket frame
///   decoder when the HTTP decoder leaves the pipeline (swift-nio #1003).
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The HTTP handlers of the connection, removed when it switches to WebSocket.
    struct HTTPHandlers {
        let timer: RequestTimer?
        let encoder: HTTPResponseEncoder
        let decoder: ByteToMessageHandler<HTTPRequestDecoder>
        let pipelining: HTTPServerPipelineHandler
        let errors: HTTPProtocolErrorHandler
    }

    /// What the response to the current request needs to know about it.
    private struct RequestInfo {
        var keepAlive: Bool
        var isHead: Bool
        /// Whether the client understands chunked bodies (HTTP/1.1).
        var acceptsChunked: Bool
        /// The original head, kept only for requests that ask for an upgrade.
        var upgradeHead: HTTPRequestHead?
    }

    private enum State {
        case idle
        case receiving(HTTPRequest, RequestInfo, body: ByteBuffer?)
        /// A response for the current request was already sent (413, 431, ...); the rest of the request is ignored.
        case discarding
        case responding(RequestInfo)
        /// The connection speaks WebSocket now.
        case upgraded
    }

    private let responder: any HTTPResponder
    /// The responder when it is a ``Router``, which can answer some requests without a task.
    private let router: Router?
    private let configuration: HTTPServerConfiguration
    private let logger: Logger
    private let isSecure: Bool
    private let handlers: HTTPHandlers
    private var state = State.idle
    private var remoteAddress: SocketAddress?

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
    }

    func handlerAdded(context: ChannelHandlerContext) {
        remoteAddress = context.channel.remoteAddress
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            receivedHead(head, context: context)
        case .body(var part):
            guard case .receiving(let request, let info, var body) = state else { return }
            state = .idle  // let `body` be uniquely referenced while appending
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
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
                state = .idle
            case .idle, .responding, .upgraded:
                break
            }
        }
    }

    private func receivedHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        handlers.timer?.headReceived()
        var headerBytes = 0
        for header in head.headers { headerBytes &+= header.name.utf8.count &+ header.value.utf8.count }
        if headerBytes > configuration.maxHeaderSize {
            refuse(
                .requestHeaderFieldsTooLarge,
                message: "Request header fields are larger than \(configuration.maxHeaderSize) bytes",
                context: context
            )
            return
        }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init),
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
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                promise: nil
            )
        }
        state = .receiving(request, info, body: nil)
    }

    /// Answers the current request with an error before its body was read, then closes the connection.
    ///
    /// The connection is half-closed first, so a client still sending its body reads the response instead of
    /// seeing a reset; it is closed fully when the client closes or after a short grace period.
    private func refuse(_ status: HTTPResponse.Status, message: String, context: ChannelHandlerContext) {
        state = .discarding
        let info = RequestInfo(keepAlive: false, isHead: false, acceptsChunked: true, upgradeHead: nil)
        let response = HTTPError(status, message: message).response(for: Self.placeholderRequest)
        writeHeadAndBuffer(response, info: info, context: context)
        handlers.timer?.requestFinished()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    private static let placeholderRequest = Request(
        head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")
    )

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
        Task.immediate {
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
        guard case .responding(let info) = state else { return }  // the connection went away meanwhile
        if let upgrade = response.webSocketUpgrade {
            if let head = info.upgradeHead, head.method == .GET,
                head.headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" })
            {
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

    // MARK: Writing responses

    private func write(_ response: Response, info: RequestInfo, context: ChannelHandlerContext) {
        switch response.body.storage {
        case .buffer:
            state = .idle
            writeHeadAndBuffer(response, info: info, context: context)
            writeEnd(keepAlive: info.keepAlive, context: context)
        case .stream(let produce):
            var info = info
            if !info.acceptsChunked { info.keepAlive = false }  // HTTP/1.0: the end of the body is the close
            var head = responseHead(response, keepAlive: info.keepAlive)
            if info.acceptsChunked, !info.isHead, Self.mayHaveBody(response.status.code) {
                head.headers.add(name: "transfer-encoding", value: "chunked")
            }
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            guard !info.isHead, Self.mayHaveBody(response.status.code) else {
                state = .idle
                writeEnd(keepAlive: info.keepAlive, context: context)
                return
            }
            state = .responding(info)
            streamBody(produce, keepAlive: info.keepAlive, context: context)
        }
    }

    /// Writes the head and the in-memory body of `response` (not the end).
    private func writeHeadAndBuffer(_ response: Response, info: RequestInfo, context: ChannelHandlerContext) {
        let buffer = response.body.buffer ?? ByteBuffer()
        let status = response.status.code
        // A HEAD response may advertise the length a GET would have had.
        let keepsLength = info.isHead && buffer.readableBytes == 0
        var head = responseHead(response, keepAlive: info.keepAlive, dropLength: !keepsLength)
        if Self.mayHaveBody(status), !(keepsLength && head.headers.contains(name: "content-length")) {
            head.headers.add(name: "content-length", value: String(buffer.readableBytes))
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !info.isHead, buffer.readableBytes > 0, Self.mayHaveBody(status) {
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
    }

    /// The NIO head for `response`; framing fields (`Transfer-Encoding`, and `Content-Length` when `dropLength`)
    /// are left out for the caller to set.
    private func responseHead(_ response: Response, keepAlive: Bool, dropLength: Bool = true) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headers.count + 3)
        for field in response.headers {
            if field.name == .transferEncoding || (dropLength && field.name == .contentLength) { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        if let serverName = configuration.serverName { headers.replaceOrAdd(name: "server", value: serverName) }
        return HTTPResponseHead(
            version: .http1_1,
            status: HTTPResponseStatus(statusCode: response.status.code, reasonPhrase: response.status.reasonPhrase),
            headers: headers
        )
    }

    private static func mayHaveBody(_ status: Int) -> Bool {
        status >= 200 && status != 204 && status != 304
    }

    private func writeEnd(keepAlive: Bool, context: ChannelHandlerContext) {
        if keepAlive {
            // Arm the idle deadline before the end goes out: writing it may deliver the next pipelined request,
            // whose head disarms the deadline again.
            handlers.timer?.requestFinished()
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func streamBody(
        _ produce: @escaping @Sendable (inout ResponseBodyWriter) async throws -> Void,
        keepAlive: Bool,
        context: ChannelHandlerContext
    ) {
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
        let logger = self.logger
        Task {
            var writer = ResponseBodyWriter { part in
                try await eventLoop.flatSubmit {
                    let (handler, context) = bound.value
                    guard case .responding = handler.state else {
                        return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
                    }
                    return context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(part))))
                }.get()
            }
            let failed: Bool
            do {
                try await produce(&writer)
                failed = false
            } catch {
                failed = true
                logger.error("streamed response body failed", metadata: ["error.message": "\(error)"])
            }
            eventLoop.execute {
                let (handler, context) = bound.value
                guard case .responding = handler.state else { return }
                handler.state = .idle
                if failed {
                    context.close(promise: nil)  // the client must not mistake a cut body for a complete one
                } else {
                    handler.writeEnd(keepAlive: keepAlive, context: context)
                }
            }
        }
    }

    // MARK: WebSocket upgrade

    private func performUpgrade(_ upgrade: WebSocketUpgrade, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let configuration = upgrade.configuration ?? self.configuration.webSocket
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: configuration.maxMessageSize,
            automaticErrorHandling: true,
            shouldUpgrade: { channel, _ in
                channel.eventLoop.makeSucceededFuture(HTTPHeaders(upgrade.headers))
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(WebSocketFrameValidator())
                    try sync.addHandler(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 0,
                            maxAccumulatedFrameCount: 1 << 16,
                            maxAccumulatedFrameSize: configuration.maxMessageSize
                        )
                    )
                    let connection = WebSocketConnection(channel: channel, configuration: configuration)
                    let encodedWriter = EncodedFrameWriter()
                    try sync.addHandler(encodedWriter, position: .before(try sync.handler(type: WebSocketFrameEncoder.self)))
                    connection.encodedWriter = encodedWriter
                    try sync.addHandler(WebSocketChannelHandler(connection: connection))
                    channel.setOption(
                        .writeBufferWaterMark,
                        value: .init(low: configuration.maxBufferedBytes / 2, high: configuration.maxBufferedBytes)
                    ).whenComplete { _ in }
                    upgrade.onUpgrade(connection)
                }
            }
        )
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        upgrader.buildUpgradeResponse(channel: context.channel, upgradeRequest: head, initialResponseHeaders: [:])
            .hop(to: context.eventLoop)
            .whenComplete { result in
                let (handler, context) = bound.value
                guard case .responding(let info) = handler.state else { return }
                switch result {
                case .failure:
                    let refusal = HTTPError(.badRequest, message: "Invalid WebSocket handshake")
                        .response(for: Self.placeholderRequest)
                    handler.write(refusal, info: info, context: context)
                case .success(let headers):
                    handler.switchToWebSocket(upgrader: upgrader, head: head, headers: headers, context: context)
                }
            }
    }

    private func switchToWebSocket(
        upgrader: NIOWebSocketServerUpgrader,
        head: HTTPRequestHead,
        headers: HTTPHeaders,
        context: ChannelHandlerContext
    ) {
        state = .upgraded
        let channel = context.channel
        context.writeAndFlush(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))),
            promise: nil
        )
        let sync = context.pipeline.syncOperations
        if let timer = handlers.timer { sync.removeHandler(timer, promise: nil) }
        sync.removeHandler(handlers.pipelining, promise: nil)
        sync.removeHandler(handlers.errors, promise: nil)
        sync.removeHandler(handlers.encoder, promise: nil)
        // Adds the frame codec at the end of the pipeline, then our WebSocket handlers.
        upgrader.upgrade(context: context, upgradeRequest: head).whenFailure { _ in
            channel.close(promise: nil)
        }
        sync.removeHandler(context: context, promise: nil)
        // The decoder leaves last: bytes it holds beyond the handshake go on to the frame decoder.
        sync.removeHandler(handlers.decoder, promise: nil)
    }

    // MARK: Channel events

    func channelInactive(context: ChannelHandlerContext) {
        state = .idle
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
