import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import PushinatorEventLoop

/// Serves the requests of one connection: carries out what its ``HTTPConnectionStateMachine`` decides (dispatch a
/// request to the responder, write a response as bytes, refuse a request, read, close, switch to WebSocket).
///
/// The pipeline is `[TLS] → RequestTimer → HTTP decoder → this handler`. This handler does what NIO's response
/// encoder, pipelining handler and protocol error handler would, on one object, so a response costs one write
/// through one handler. The protocol decisions (pipelining: which requests start while earlier answers are
/// pending and when each answer's turn comes; keep-alive; read gating at ``HTTPServerConfiguration/
/// maxPipelinedRequests`` in flight or while more than ``HTTPServerConfiguration/maxQueuedResponseBytes`` wait for
/// the client; limits; graceful shutdown; upgrades) are the state machine's; this handler holds none of its own. A client that has not caught up
/// (writable, nothing held back) within ``HTTPServerConfiguration/writeTimeout`` of falling behind is closed.
///
/// A handler that does not suspend runs synchronously on the event loop (`Task.immediate`, or no task at all for
/// synchronous routes), and one that suspends resumes there (``EventLoopTaskExecutor``), which keeps the request
/// path free of thread hops.
///
/// Upgrades are handled here rather than by NIO's `HTTPServerUpgradeHandler`, so that:
/// - the router runs exactly once per request, upgrade or not;
/// - pipelined requests behind pending answers are dispatched at once and answered in order (an upgrade waits for
///   the answers before it);
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

    typealias RequestInfo = HTTPConnectionStateMachine.RequestInfo

    let responder: any HTTPResponder
    /// The responder when it is a ``Router``, which can answer some requests without a task.
    let router: Router?
    let configuration: HTTPServerConfiguration
    let logger: Logger
    let isSecure: Bool
    let handlers: HTTPHandlers
    /// Every protocol decision of the connection.
    var machine: HTTPConnectionStateMachine
    private var remoteAddress: SocketAddress?
    /// Closes the connection if the client does not drain its responses in time; pending while it is behind.
    private var writeTimer: LoopTimers.Timer?

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
        self.machine = HTTPConnectionStateMachine(limits: .init(configuration), isSecure: isSecure)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        remoteAddress = context.channel.remoteAddress
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        writeTimer?.cancel()
        writeTimer = nil
        let (flush, read) = machine.removed()
        if flush { context.flush() }
        if read { context.read() }
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let action = machine.received(unwrapInboundIn(data))
        perform(action, context: context)
    }

    /// Carries out what the state machine decided about a request part.
    private func perform(_ action: HTTPConnectionStateMachine.InboundAction, context: ChannelHandlerContext) {
        switch action {
        case .none:
            return
        case .headAccepted(let chunked, let sendContinue):
            handlers.timer?.headReceived(chunked: chunked)
            if sendContinue {
                var interim = context.channel.allocator.buffer(capacity: 32)
                interim.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
                context.writeAndFlush(wrapOutboundOut(interim), promise: nil)
            }
        case .bodyAccepted(let count):
            handlers.timer?.bodyPartReceived(count)
        case .refuse(let refusal):
            refuse(refusal, context: context)
        case .dispatch(let request, let id):
            handlers.timer?.bodyReceived()
            dispatch(request, id: id, context: context)
        }
    }

    /// Writes the answers whose turn came and carries out the queued events until an answer is pending again, the
    /// in-flight limit is reached or the client stops reading its responses, then lets reading resume once the
    /// queue is empty.
    func drainPending(context: ChannelHandlerContext) {
        guard machine.startDraining() else { return }  // the loop further up the stack goes on
        defer { if machine.stopDraining() { context.flush() } }
        while true {
            switch machine.nextQueued() {
            case .respond:
                if let (action, response) = machine.takeHeldAnswer() {
                    perform(action, response: response, context: context)
                }
            case .inbound(let action):
                perform(action, context: context)
            case .parserError(let action):
                perform(action, context: context)
            case .wait:
                return
            case .caughtUp(let cancelWriteTimer, let read):
                if cancelWriteTimer {
                    writeTimer?.cancel()
                    writeTimer = nil
                }
                if read { context.read() }
                return
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if machine.readComplete() { context.flush() }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if machine.readRequested() { context.read() }
    }

    // MARK: Write backpressure

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        switch machine.writabilityChanged(context.channel.isWritable) {
        case .none:
            break
        case .close:
            context.close(promise: nil)
        case .drain:
            drainPending(context: context)  // cancels the write timer once nothing is held back
        case .startWriteTimer:
            let timeout = TimeAmount(configuration.writeTimeout)
            writeTimer = LoopTimers.on(context.eventLoop).schedule(in: timeout) { [weak self] in
                guard let self else { return }
                self.writeTimer = nil
                guard self.machine.writeTimerFired() else { return }
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

    /// Runs the responder for request `id`; its answer goes to ``finish(_:id:context:)``, which writes it in its turn.
    private func dispatch(_ request: Request, id: HTTPConnectionStateMachine.RequestID, context: ChannelHandlerContext) {
        var requestContext = RequestContext(
            logger: logger,
            eventLoop: context.eventLoop,
            remoteAddress: remoteAddress,
            isSecure: isSecure
        )
        requestContext.remainingPath = request.path
        if let router, let response = router.respondSynchronously(to: request, context: requestContext) {
            finish(response, id: id, context: context)
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
                handler.finish(response, id: id, context: context)
            } else {
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.finish(response, id: id, context: context)
                }
            }
        }
    }

    private func finish(_ response: Response, id: HTTPConnectionStateMachine.RequestID, context: ChannelHandlerContext) {
        let action = machine.responseReady(response, for: id)
        if case .write(let info, let keepAlive) = action {  // the common case, without wrapping the response
            write(response, info: info, keepAlive: keepAlive, context: context)
            return
        }
        perform(action, response: response, context: context)
    }

    /// Carries out what the state machine decided about a response.
    func perform(
        _ action: HTTPConnectionStateMachine.ResponseAction,
        response: Response?,
        context: ChannelHandlerContext
    ) {
        if case .upgrade = action {} else { response?.webSocketUpgrade?.tunnel?.close() }  // a relayed 101 not used
        switch action {
        case .none:
            return
        case .write(let info, let keepAlive):
            if let response { write(response, info: info, keepAlive: keepAlive, context: context) }
        case .refuse(let refusal, let info, let keepAlive):
            let response = HTTPError(refusal.status, message: refusal.message).response(for: Self.placeholderRequest)
            write(response, info: info, keepAlive: keepAlive, context: context)
        case .upgrade(let head):
            if let tunnel = response?.webSocketUpgrade?.tunnel {
                performTunnel(tunnel, context: context)
            } else if let upgrade = response?.webSocketUpgrade {
                performUpgrade(upgrade, head: head, context: context)
            }
        }
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
        perform(machine.parserFailed(error), context: context)
    }

    /// Carries out what the state machine decided about input the decoder could not parse (or chunk framing over
    /// the limit): a JSON error then the close, or the close alone.
    private func perform(_ action: HTTPConnectionStateMachine.ParserErrorAction, context: ChannelHandlerContext) {
        switch action {
        case .none:
            return
        case .close:
            context.close(promise: nil)
        case .answerAndClose(let refusal):
            let response = HTTPError(refusal.status, message: refusal.message).response(for: Self.placeholderRequest)
            let buffer = encode(response, keepAlive: false, isHead: false, context: context)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Answers the current request with an error before its body was read, then closes the connection.
    ///
    /// The connection is half-closed first, so a client still sending its body reads the response instead of
    /// seeing a reset; it is closed fully when the client closes or after a short grace period.
    private func refuse(_ refusal: HTTPConnectionStateMachine.Refusal, context: ChannelHandlerContext) {
        let response = HTTPError(refusal.status, message: refusal.message).response(for: Self.placeholderRequest)
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
        // An idle connection closes at once, a busy one after the answers in flight, the last of which says
        // `Connection: close`; nothing new is dispatched.
        if machine.quiesce() { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        machine.closed()
        writeTimer?.cancel()
        writeTimer = nil
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
            if authority == nil, name.equalsIgnoringASCIICase("host") {
                authority = value
                continue
            }
            if let fieldName = HTTPField.Name.commonOrParsed(name) {
                fields.append(HTTPField(name: fieldName, value: value))
            }
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
