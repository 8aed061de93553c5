import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Turns the request parts of one connection into ``Request`` values, runs the responder, and writes responses.
///
/// `HTTPServerPipelineHandler` in front of it delivers one request at a time, so responses leave in order.
/// Bodies are collected up to the configured limit (413 beyond it). A handler that does not suspend runs
/// synchronously on the event loop (`Task.immediate`), which keeps the common path free of thread hops.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequest, keepAlive: Bool, body: ByteBuffer?)
        /// A response for the current request was already sent (413, 431, a stashed upgrade refusal...);
        /// the rest of the request is ignored.
        case discarding(closeAfter: Bool)
        case responding
    }

    private let responder: any HTTPResponder
    private let configuration: HTTPServerConfiguration
    private let logger: Logger
    private let isSecure: Bool
    private let upgradeState: UpgradeState
    private let timer: RequestTimer?
    private var state = State.idle
    private var quiescing = false
    private var remoteAddress: SocketAddress?

    init(
        responder: any HTTPResponder,
        configuration: HTTPServerConfiguration,
        logger: Logger,
        isSecure: Bool,
        upgradeState: UpgradeState,
        timer: RequestTimer?
    ) {
        self.responder = responder
        self.configuration = configuration
        self.logger = logger
        self.isSecure = isSecure
        self.upgradeState = upgradeState
        self.timer = timer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        remoteAddress = context.channel.remoteAddress
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            receivedHead(head, context: context)
        case .body(var part):
            switch state {
            case .receiving(let request, let keepAlive, var body):
                state = .idle  // let `body` be uniquely referenced while appending
                if body == nil {
                    body = part
                } else {
                    body!.writeBuffer(&part)
                }
                if body!.readableBytes > configuration.maxRequestBodySize {
                    refuse(.contentTooLarge, message: "Request body is larger than \(configuration.maxRequestBodySize) bytes", context: context)
                } else {
                    state = .receiving(request, keepAlive: keepAlive, body: body)
                }
            default:
                break
            }
        case .end:
            switch state {
            case .receiving(let request, let keepAlive, let body):
                state = .responding
                dispatch(Request(head: request, body: RequestBody(buffer: body ?? ByteBuffer())), keepAlive: keepAlive, context: context)
            case .discarding(let closeAfter):
                state = .idle
                if closeAfter { context.close(promise: nil) }
            default:
                break
            }
        }
    }

    private func receivedHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        timer?.headReceived()
        let keepAlive = head.isKeepAlive && !quiescing
        if let stashed = upgradeState.takeRefusal() {
            state = .discarding(closeAfter: false)
            write(stashed, keepAlive: keepAlive, isHead: head.method == .HEAD, context: context)
            return
        }
        var headerBytes = 0
        for header in head.headers { headerBytes += header.name.utf8.count + header.value.utf8.count }
        if headerBytes > configuration.maxHeaderSize {
            refuse(.requestHeaderFieldsTooLarge, message: "Request header fields are larger than \(configuration.maxHeaderSize) bytes", context: context)
            return
        }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > configuration.maxRequestBodySize {
            refuse(.contentTooLarge, message: "Request body is larger than \(configuration.maxRequestBodySize) bytes", context: context)
            return
        }
        let request: HTTPRequest
        do {
            request = try HTTPRequest(head, secure: isSecure, splitCookie: false)
        } catch {
            refuse(.badRequest, message: "Invalid request head", context: context)
            return
        }
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        state = .receiving(request, keepAlive: keepAlive, body: nil)
    }

    /// Answers the current request with an error now and closes the connection afterwards.
    private func refuse(_ status: HTTPResponse.Status, message: String, context: ChannelHandlerContext) {
        state = .discarding(closeAfter: true)
        let response = HTTPError(status, message: message).response(for: Request(head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")))
        write(response, keepAlive: false, isHead: false, context: context)
    }

    private func dispatch(_ request: Request, keepAlive: Bool, context: ChannelHandlerContext) {
        var requestContext = RequestContext(
            logger: logger,
            eventLoop: context.eventLoop,
            remoteAddress: remoteAddress,
            isSecure: isSecure
        )
        requestContext.remainingPath = request.path
        let responder = self.responder
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
        let isHead = request.method == .head
        Task.immediate {
            let response: Response
            do {
                response = try await responder.respond(to: request, context: requestContext)
            } catch {
                response = ErrorRendering.response(for: error, request: request, logger: requestContext.logger)
            }
            if eventLoop.inEventLoop {
                let (handler, context) = bound.value
                handler.finish(response, keepAlive: keepAlive, isHead: isHead, context: context)
            } else {
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.finish(response, keepAlive: keepAlive, isHead: isHead, context: context)
                }
            }
        }
    }

    private func finish(_ response: Response, keepAlive: Bool, isHead: Bool, context: ChannelHandlerContext) {
        guard case .responding = state else { return }  // the connection went away meanwhile
        state = .idle
        if response.webSocketUpgrade != nil {
            // A WebSocket route reached without a valid upgrade handshake.
            let refusal = HTTPError(.badRequest, message: "This endpoint expects a WebSocket upgrade")
                .response(for: Request(head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")))
            write(refusal, keepAlive: keepAlive, isHead: isHead, context: context)
            return
        }
        write(response, keepAlive: keepAlive, isHead: isHead, context: context)
    }

    private func write(_ response: Response, keepAlive: Bool, isHead: Bool, context: ChannelHandlerContext) {
        let keepAlive = keepAlive && !quiescing
        var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status.code, reasonPhrase: response.status.reasonPhrase), headers: HTTPHeaders(response.headers))
        if !keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
        if let serverName = configuration.serverName { head.headers.replaceOrAdd(name: "server", value: serverName) }

        switch response.body.storage {
        case .buffer(let buffer):
            if !head.headers.contains(name: "content-length"), response.status.code != 204, response.status.code != 304 {
                head.headers.add(name: "content-length", value: String(buffer.readableBytes))
            }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if !isHead, buffer.readableBytes > 0 {
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
            writeEnd(keepAlive: keepAlive, context: context)
        case .stream(let produce):
            head.headers.remove(name: "content-length")
            if !isHead { head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked") }
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            guard !isHead else {
                writeEnd(keepAlive: keepAlive, context: context)
                return
            }
            state = .responding
            streamBody(produce, keepAlive: keepAlive, context: context)
        }
    }

    private func writeEnd(keepAlive: Bool, context: ChannelHandlerContext) {
        let promise: EventLoopPromise<Void>? = keepAlive ? nil : context.eventLoop.makePromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        if let promise {
            let channel = context.channel
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        } else {
            timer?.requestFinished()
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .idle
        context.fireChannelInactive()
    }
}
