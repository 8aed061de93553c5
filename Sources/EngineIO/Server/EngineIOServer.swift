import HTTPTypes
public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import PushinatorHTTP
import ServiceLifecycle

/// An Engine.IO v4 server (v3 optional): handshakes, long-polling, WebSocket, upgrades and heartbeats.
///
/// Mount it on a router at its path; it answers every request below it.
///
/// ```swift
/// let engine = EngineIOServer(configuration: .init(pingInterval: .seconds(25)), logger: logger)
/// engine.delegate = myProtocolLayer
/// let router = Router { Mount("engine.io", responder: engine) }
/// ```
///
/// Engine.IO knows nothing of namespaces or events: it delivers messages to its
/// ``EngineIOServerDelegate`` (the Socket.IO layer) and sends the packets it is given.
public final class EngineIOServer: SynchronousHTTPResponder, Sendable {
    /// The configuration.
    public let configuration: EngineIOConfiguration
    let logger: Logger
    private let sessions = NIOLockedValueBox<[String: EngineIOSession]>([:])
    private let delegateBox = NIOLockedValueBox<(any EngineIOServerDelegate)?>(nil)
    private let forwarderBox = NIOLockedValueBox<(any EngineIOSessionForwarder)?>(nil)
    /// Sessions by transport, upgrades and slow consumers, for metrics.
    public let statistics: EngineIOStatistics
    /// What every session gets from ``configuration``, derived once (not per connect): the WebSocket limits, the
    /// state machine's settings per protocol revision, the open packet.
    private let webSocketConfiguration: WebSocketConfiguration
    private let machineConfigurationV4: EngineIOSessionStateMachine<WebSocketConnection>.Configuration
    private let machineConfigurationV3: EngineIOSessionStateMachine<WebSocketConnection>.Configuration
    private let openPacketTemplate: EngineIOOpenPacketTemplate

    /// Creates a server.
    public init(configuration: EngineIOConfiguration = .init(), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let statistics = EngineIOStatistics()
        self.statistics = statistics
        webSocketConfiguration = WebSocketConfiguration(
            maxMessageSize: configuration.maxPayload,
            maxBufferedBytes: configuration.maxBufferedBytes,
            writeTimeout: configuration.webSocketWriteTimeout,
            closeTimeout: configuration.webSocketCloseTimeout,
            memoryBudget: configuration.memoryBudget,
            slowConsumers: statistics.slowConsumers
        )
        let v4 = EngineIOSessionStateMachine<WebSocketConnection>.Configuration(configuration, version: .v4)
        machineConfigurationV4 = v4
        machineConfigurationV3 = .init(configuration, version: .v3)
        openPacketTemplate = EngineIOOpenPacketTemplate(
            pingInterval: v4.pingInterval,
            pingTimeout: v4.pingTimeout,
            maxPayload: v4.maxPayload
        )
    }

    /// Receives new sessions. Set it before the server gets requests.
    public var delegate: (any EngineIOServerDelegate)? {
        get { delegateBox.withLockedValue { $0 } }
        set { delegateBox.withLockedValue { $0 = newValue } }
    }

    /// Forwards the requests for sessions of other servers (cluster mode), and gives the prefix of the session ids
    /// this server hands out; `nil` (the default) for a single server. Set it before the server gets requests.
    public var forwarder: (any EngineIOSessionForwarder)? {
        get { forwarderBox.withLockedValue { $0 } }
        set { forwarderBox.withLockedValue { $0 = newValue } }
    }

    /// The number of open sessions.
    public var sessionCount: Int { sessions.withLockedValue { $0.count } }

    /// The session with id `sid`, if open.
    public func session(id sid: String) -> EngineIOSession? { sessions.withLockedValue { $0[sid] } }

    /// Closes every session (clients are told to reconnect elsewhere).
    public func closeAllSessions(reason: EngineIOCloseReason = .serverShuttingDown) {
        let all = sessions.withLockedValue { Array($0.values) }
        for session in all { session.close(reason: reason) }
    }

    func remove(_ session: EngineIOSession) {
        sessions.withLockedValue { _ = $0.removeValue(forKey: session.id) }
    }

    // MARK: - HTTP

    public func respond(to request: Request, context: RequestContext) async throws -> Response {
        let (query, version, transport) = try target(of: request, isUpgrade: Self.upgradeField(of: request.headers).isWebSocket)
        guard let sid = query["sid"] else {
            guard request.method == .get else { throw EngineIOHTTPError.badHandshakeMethod }
            return try await handshake(request: request, context: context, version: version, transport: transport)
        }
        guard let session = session(id: sid) else {
            if let forwarder, let response = await forwarder.forward(request, context: context, sid: sid) {
                return response
            }
            throw EngineIOHTTPError.unknownSession
        }
        guard session.version == version else { throw EngineIOHTTPError.badRequest }

        if transport == .websocket { return upgrade(session) }
        let supportsBinary = query["b64"] == nil
        switch request.method {
        case .get:
            return try await session.eventLoop.flatSubmit { session.poll(supportsBinary: supportsBinary) }.get()
        case .post:
            let body = request.body.buffer
            // Decoding copies the payload into packets: charge it to the budget while it happens (a payload over
            // maxPayload is refused undecoded by the session).
            let budget = configuration.memoryBudget
            let charged = body.readableBytes <= configuration.maxPayload ? body.readableBytes : 0
            guard budget.tryReserve(charged, for: .pollingPayload) else { throw EngineIOHTTPError.serverBusy }
            defer { budget.release(charged) }
            try await session.eventLoop.submit { try session.receive(pollingBody: body) }.get()
            return Response(status: .ok, headers: [.contentType: "text/html"], body: .string("ok"))
        default:
            throw EngineIOHTTPError.badRequest
        }
    }

    /// Answers WebSocket requests (a handshake over WebSocket, or the upgrade of a polling session) on the event
    /// loop, without a task; `nil` for the rest (polling waits for the session's loop; `allowRequest` and the
    /// forwarder may suspend), which ``respond(to:context:)`` answers. Errors are the ones `respond` throws.
    public func respondSynchronously(to request: Request, context: RequestContext) throws -> Response? {
        let upgradeField = Self.upgradeField(of: request.headers)
        guard upgradeField.isPresent else { return nil }  // not a WebSocket request: before any parsing
        let (query, version, transport) = try target(of: request, isUpgrade: upgradeField.isWebSocket)
        guard transport == .websocket else { return nil }
        guard let sid = query["sid"] else {
            guard request.method == .get else { throw EngineIOHTTPError.badHandshakeMethod }
            guard configuration.allowRequest == nil else { return nil }
            return webSocketHandshake(request: request, context: context, version: version)
        }
        guard let session = session(id: sid) else { return nil }  // the forwarder's, or unknown: `respond` says
        guard session.version == version else { throw EngineIOHTTPError.badRequest }
        return upgrade(session)
    }

    /// Whether a request has an `Upgrade` field, and whether it asks for a WebSocket: `headers[.upgrade] != nil` and
    /// `headers[.upgrade]?.lowercased() == "websocket"`, without the joined string the subscript builds (4k
    /// instructions a lookup) for the usual single field.
    static func upgradeField(of headers: HTTPFields) -> (isPresent: Bool, isWebSocket: Bool) {
        var value: String?
        for field in headers where field.name == .upgrade {
            guard value == nil else {  // several: joined, as the subscript does
                return (true, headers[.upgrade]?.lowercased() == "websocket")
            }
            value = field.value
        }
        guard let value else { return (false, false) }
        let utf8 = value.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return (true, value.lowercased() == "websocket") }
        return (true, utf8.count == 9 && zip(utf8, "websocket".utf8).allSatisfy { $0 | 0x20 == $1 && $0 >= 0x41 })
    }

    /// The query, protocol version and transport a request asks for, checked as both paths need.
    private func target(of request: Request, isUpgrade: Bool) throws -> (QueryParameters, EngineIOVersion, EngineIOTransport) {
        let query = request.query
        let version: EngineIOVersion
        switch query["EIO"] {
        case "4": version = .v4
        case "3" where configuration.allowEIO3: version = .v3
        default: throw EngineIOHTTPError.unsupportedProtocolVersion
        }
        guard let transportName = query["transport"],
            let transport = configuration.transports.first(where: { $0.name == transportName })
        else {
            throw EngineIOHTTPError.unknownTransport
        }
        if transport == .websocket, !isUpgrade {
            throw EngineIOHTTPError.badRequest
        }
        return (query, version, transport)
    }

    /// The upgrade of a polling session to WebSocket.
    private func upgrade(_ session: EngineIOSession) -> Response {
        Response.webSocket(configuration: webSocketConfiguration) { connection in
            connection.delegate = session.makeWebSocketDelegate()
            // Only one WebSocket per session: the session closes any other one at once.
            session.eventLoop.execute { session.beginUpgrade(connection) }
        }
    }

    private func handshake(
        request: Request,
        context: RequestContext,
        version: EngineIOVersion,
        transport: EngineIOTransport
    ) async throws -> Response {
        if let allowRequest = configuration.allowRequest, let refusal = await allowRequest(request, context).refusal {
            throw EngineIOHTTPError.forbidden(refusal)
        }
        if transport == .websocket {
            return webSocketHandshake(request: request, context: context, version: version)
        }
        let (sid, headers) = newSessionID()
        let session = makeSession(
            id: sid,
            eventLoop: context.eventLoop,
            version: version,
            request: request,
            remoteAddress: context.remoteAddress,
            webSocket: nil
        )
        let supportsBinary = request.query["b64"] == nil
        var response = try await session.eventLoop.flatSubmit {
            self.start(session, request: request, context: context)
            return session.poll(supportsBinary: supportsBinary)
        }.get()
        response.headers.append(contentsOf: headers)
        return response
    }

    /// A new session's id, and the cookie that carries it when configured.
    private func newSessionID() -> (String, HTTPFields) {
        let sid = forwarder.map { EngineIOSessionOwner.makeSessionID(prefix: $0.sessionPrefix) } ?? RandomIdentifier.make()
        var headers: HTTPFields = [:]
        if let cookie = configuration.cookie {
            var value = "\(cookie.name)=\(sid); Path=\(cookie.path); SameSite=\(cookie.sameSite)"
            if cookie.httpOnly { value += "; HttpOnly" }
            headers[.setCookie] = value
        }
        return (sid, headers)
    }

    /// A handshake over WebSocket: the session opens once the upgrade is done.
    private func webSocketHandshake(request: Request, context: RequestContext, version: EngineIOVersion) -> Response {
        let (sid, headers) = newSessionID()
        let remoteAddress = context.remoteAddress
        return Response.webSocket(headers: headers, configuration: webSocketConfiguration) { [self] connection in
            let session = makeSession(
                id: sid,
                eventLoop: connection.eventLoop,
                version: version,
                request: request,
                remoteAddress: remoteAddress,
                webSocket: connection
            )
            start(session, request: request, context: context)
        }
    }

    private func makeSession(
        id: String,
        eventLoop: any EventLoop,
        version: EngineIOVersion,
        request: Request,
        remoteAddress: SocketAddress?,
        webSocket: WebSocketConnection?
    ) -> EngineIOSession {
        let session = EngineIOSession(
            id: id,
            eventLoop: eventLoop,
            version: version,
            handshake: request,
            remoteAddress: remoteAddress,
            webSocket: webSocket,
            configuration: configuration,
            machineConfiguration: version == .v4 ? machineConfigurationV4 : machineConfigurationV3,
            server: self,
            logger: logger
        )
        sessions.withLockedValue { $0[id] = session }
        return session
    }

    private func start(_ session: EngineIOSession, request: Request, context: RequestContext) {
        session.open(template: openPacketTemplate, statistics: statistics)
        logger.debug(
            "session opened",
            metadata: ["eio.sid": "\(session.id)", "eio.transport": "\(session.transportName)", "eio.version": "\(session.version.rawValue)"]
        )
        delegate?.engineIO(self, didOpen: session, request: request, context: context)
    }
}
