import HTTPTypes
import Logging
public import NIOCore
public import PushinatorHTTP
import PushinatorJSON

/// One Engine.IO connection: its transport (polling or WebSocket), outbound queue, heartbeat and upgrade.
///
/// All state lives on ``eventLoop``; the public send methods may be called from anywhere (they hop), but are
/// cheapest there. Packets queued for a polling client are sent together in the next poll response; packets for
/// a WebSocket client are written at once and flushed once per event-loop tick.
public final class EngineIOSession: @unchecked Sendable {
    // What a broadcast reads for every recipient comes first, so that it shares one cache line (Swift lays out a
    // class's stored properties in declaration order): the loop, the transport, whether closed, the version.
    /// The identity of ``eventLoop``, for grouping sessions by loop without touching the existential.
    package let eventLoopID: ObjectIdentifier
    private var transport: Transport
    private(set) var isClosed = false
    /// The protocol revision the client speaks.
    public let version: EngineIOVersion
    /// The session id (`sid`).
    public let id: String
    /// The event loop that owns this session.
    public let eventLoop: any EventLoop
    /// The handshake request (headers, query, address), for the layers above.
    public let handshake: Request
    /// The client's address.
    public let remoteAddress: SocketAddress?

    /// Receives messages and the close; set it in ``EngineIOServerDelegate/engineIO(_:didOpen:request:context:)``.
    public var delegate: (any EngineIOSessionDelegate)?

    private enum Transport {
        case polling
        case websocket(WebSocketConnection)
    }

    private let configuration: EngineIOConfiguration
    private let logger: Logger
    private weak var server: EngineIOServer?
    private var probe: WebSocketConnection?
    private var upgradeTimer: LoopTimers.Timer?
    private var queue = CircularBuffer<EngineIOEncodedPacket>(initialCapacity: 4)
    private var queuedBytes = 0
    private var pendingPoll: EventLoopPromise<Response>?
    private var pendingPollSupportsBinary = true
    private var drainScheduled = false
    /// The probe answered `2probe`: the client pauses polling until it sends `5` on the WebSocket.
    private var probeAnswered = false
    /// When the WebSocket took over from polling (see ``refuseAfterUpgrade(_:)``).
    private var upgradedAt: NIODeadline?
    /// Answers the pending GET with a noop during an upgrade (see ``releasePausedPollSoon()``).
    private var pausedPollRelease: LoopTimers.Timer?
    private var heartbeatTimer: LoopTimers.Timer?
    private var pongDeadline: LoopTimers.Timer?
    /// The event loop's timers (one NIO timer for every session of the loop).
    private lazy var timers = LoopTimers.on(eventLoop)

    init(
        id: String,
        eventLoop: any EventLoop,
        version: EngineIOVersion,
        handshake: Request,
        remoteAddress: SocketAddress?,
        webSocket: WebSocketConnection?,
        configuration: EngineIOConfiguration,
        server: EngineIOServer,
        logger: Logger
    ) {
        self.id = id
        self.eventLoop = eventLoop
        self.eventLoopID = ObjectIdentifier(eventLoop)
        self.version = version
        self.handshake = handshake
        self.remoteAddress = remoteAddress
        self.configuration = configuration
        self.server = server
        self.logger = logger
        if let webSocket {
            self.transport = .websocket(webSocket)
        } else {
            self.transport = .polling
        }
    }

    /// The name of the current transport (`polling` or `websocket`).
    public var transportName: String {
        if case .websocket = transport { "websocket" } else { "polling" }
    }

    // MARK: - Start

    /// Sends the open packet and starts the heartbeat. Called once, on the event loop.
    func open() {
        var upgrades: [JSONValue] = []
        if case .polling = transport, configuration.transports.contains(.websocket) { upgrades = ["websocket"] }
        let handshake: JSONValue = [
            "sid": .string(id),
            "upgrades": .array(upgrades),
            "pingInterval": .integer(Int(configuration.pingInterval.milliseconds)),
            "pingTimeout": .integer(Int(configuration.pingTimeout.milliseconds)),
            "maxPayload": .integer(configuration.maxPayload),
        ]
        send(.control(.open, text: handshake.jsonString))
        if case .websocket(let connection) = transport { connection.delegate = WebSocketTransport(session: self) }
        startHeartbeat()
    }

    // MARK: - Sending

    /// Sends a message to the client.
    public func send(_ message: EngineIOMessage) {
        switch message {
        case .text(let text):
            send(.message(capacity: text.readableBytes + 1) { $0.writeImmutableBuffer(text) })
        case .binary(let bytes):
            send(EngineIOEncodedPacket.binary(bytes))
        }
    }

    /// Sends an encoded packet; the same packet value can go to many sessions.
    public func send(_ packet: EngineIOEncodedPacket) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.send(packet) }
            return
        }
        sendOnLoop(packet)
    }

    /// Sends packets in order from code that runs on ``eventLoop`` already (a broadcast grouped by loop): no
    /// thread check per packet and recipient.
    package func sendOnLoop(_ packets: [EngineIOEncodedPacket]) {
        for packet in packets { sendOnLoop(packet) }
    }

    private func sendOnLoop(_ packet: EngineIOEncodedPacket) {
        eventLoop.assertInEventLoop()
        guard !isClosed else { return }
        switch transport {
        case .websocket(let connection):
            // A polling session that upgraded over a WebSocket accepted on another loop stays on its own loop:
            // then the connection's methods hop (rare); otherwise the on-loop fast path.
            let sameLoop = connection.eventLoopID == eventLoopID
            write(packet, to: connection, sameLoop: sameLoop)
            if sameLoop { connection.scheduleFlushOnLoop() } else { connection.scheduleFlush() }
        case .polling:
            queuedBytes += packet.byteCount
            guard queuedBytes <= configuration.maxBufferedBytes else {
                logger.info("closing a polling client that does not keep up", metadata: ["eio.sid": "\(id)"])
                close(reason: .slowConsumer)
                return
            }
            queue.append(packet)
            if pendingPoll != nil { scheduleDrain() }
        }
    }

    /// Sends several packets in order (a Socket.IO packet and its binary attachments).
    public func send(_ packets: [EngineIOEncodedPacket]) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.send(packets) }
            return
        }
        sendOnLoop(packets)
    }

    private func write(_ packet: EngineIOEncodedPacket, to connection: WebSocketConnection, sameLoop: Bool) {
        switch (packet.kind, version) {
        case (.text, _), (.binary, .v4):
            if sameLoop { connection.writeOnLoop(packet.frame) } else { connection.write(packet.frame) }
        case (.binary(let bytes), .v3):
            var framed = ByteBuffer()
            framed.reserveCapacity(bytes.readableBytes + 1)
            framed.writeInteger(EngineIOPacketType.message.rawValue)
            framed.writeImmutableBuffer(bytes)
            connection.write(.binary(framed))
        }
    }

    // MARK: - Polling

    /// Answers a polling GET: at once when packets are queued, otherwise when the next packet is sent.
    func poll(supportsBinary: Bool) -> EventLoopFuture<Response> {
        eventLoop.preconditionInEventLoop()
        guard !isClosed, case .polling = transport else {
            let refused = eventLoop.makePromise(of: Response.self)
            refuseAfterUpgrade(refused)
            return refused.futureResult
        }
        if let pending = pendingPoll {
            // A second concurrent GET breaks the protocol: end the session; the first GET learns it by `1`.
            pendingPoll = nil
            pending.succeed(pollResponse([.control(.close)], supportsBinary: pendingPollSupportsBinary))
            close(reason: .transportError)
            return eventLoop.makeFailedFuture(EngineIOHTTPError.badRequest)
        }
        let promise = eventLoop.makePromise(of: Response.self)
        pendingPoll = promise
        pendingPollSupportsBinary = supportsBinary
        if probe != nil, probeAnswered {
            releasePausedPollSoon()
        } else if !queue.isEmpty {
            scheduleDrain()
        }
        return promise.futureResult
    }

    /// Handles the body of a polling POST.
    func receive(pollingBody body: ByteBuffer) throws {
        eventLoop.preconditionInEventLoop()
        guard !isClosed, case .polling = transport else { throw EngineIOHTTPError.badRequest }
        guard body.readableBytes <= configuration.maxPayload else {
            close(reason: .transportError)
            throw EngineIOHTTPError.payloadTooLarge
        }
        let packets: [EngineIOPacket]
        do {
            packets = try EngineIOPollingCodec(
                version: version,
                configuration: .init(maxPackets: 4096, maxPayloadBytes: configuration.maxPayload)
            ).decode(body)
        } catch {
            logger.debug("invalid polling payload", metadata: ["eio.sid": "\(id)", "error.message": "\(error)"])
            close(reason: .transportError)
            throw EngineIOHTTPError.badRequest
        }
        for packet in packets where !isClosed {
            handle(packet, viaProbe: false)
        }
    }

    private func scheduleDrain() {
        guard !drainScheduled else { return }
        drainScheduled = true
        // Wait for the end of this tick so that packets sent together leave in one response.
        eventLoop.execute {
            self.drainScheduled = false
            self.drain()
        }
    }

    private func drain() {
        guard let promise = pendingPoll, !queue.isEmpty else { return }
        pendingPoll = nil
        var batch: [EngineIOEncodedPacket] = []
        var bytes = 0
        while let next = queue.first,
            batch.isEmpty || (bytes + next.byteCount <= configuration.maxPayload && batch.count < configuration.maxPacketsPerPoll)
        {
            queue.removeFirst()
            bytes += next.byteCount
            batch.append(next)
        }
        queuedBytes -= bytes
        promise.succeed(pollResponse(batch, supportsBinary: pendingPollSupportsBinary))
    }

    private func pollResponse(_ packets: [EngineIOEncodedPacket], supportsBinary: Bool) -> Response {
        var buffer = ByteBuffer()
        let contentType: String
        if version == .v4 {
            buffer.reserveCapacity(packets.reduce(0) { $0 + $1.byteCount + 1 })
            for (index, packet) in packets.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(0x1E)) }
                switch packet.kind {
                case .text(let text):
                    buffer.writeImmutableBuffer(text)
                case .binary(let bytes):
                    buffer.writeInteger(UInt8(ascii: "b"))
                    Base64.encode(bytes, into: &buffer)
                }
            }
            contentType = "text/plain; charset=UTF-8"
        } else {
            let format = EngineIOPollingCodec(version: .v3).encode(
                packets.map(\.packet),
                into: &buffer,
                supportsBinary: supportsBinary
            )
            contentType = format.contentType
        }
        return Response(status: .ok, headers: [.contentType: contentType], body: .buffer(buffer))
    }

    // MARK: - WebSocket upgrade

    /// Takes a WebSocket that wants to replace polling (it will send `2probe`). Called on the session's loop;
    /// the connection's delegate was set by ``makeWebSocketDelegate()`` on the connection's loop.
    func beginUpgrade(_ connection: WebSocketConnection) {
        eventLoop.preconditionInEventLoop()
        guard !isClosed, case .polling = transport, probe == nil else {
            connection.close(code: .policyViolation)
            return
        }
        probe = connection
        upgradeTimer = timers.schedule(in: TimeAmount(configuration.upgradeTimeout)) { [self] in
            guard let probe = self.probe else { return }
            dropProbe()
            probe.close(code: .policyViolation)
        }
    }

    /// The delegate that feeds a WebSocket's frames to this session, hopping to the session's loop when the
    /// connection lives on another one. Set it on the connection's loop before any frame can arrive.
    func makeWebSocketDelegate() -> any WebSocketDelegate {
        WebSocketTransport(session: self)
    }

    fileprivate func receivedOnProbe(_ packet: EngineIOPacket, connection: WebSocketConnection) {
        guard probe === connection else { return }
        switch packet.type {
        case .ping where packet.text == "probe":
            // Answered from here, once this loop knows of the probe: whatever the client sends after `3probe`
            // (its `5` on the WebSocket, a GET on another connection) is then handled after it. The pending GET is
            // released so that the client can pause polling.
            probeAnswered = true
            connection.send(text: ByteBuffer(string: "3probe"))
            if pendingPoll != nil { releasePausedPollSoon() }
        case .upgrade:
            upgradeTimer?.cancel()
            upgradeTimer = nil
            probe = nil
            transport = .websocket(connection)
            pausedPollRelease?.cancel()
            pausedPollRelease = nil
            upgradedAt = .now()
            if let pending = pendingPoll {
                // a GET sent after the client's `5` that overtook it (see `releasePausedPollSoon`): polling is over
                pendingPoll = nil
                refuseAfterUpgrade(pending)
            }
            let queued = queue
            queue.removeAll()
            queuedBytes = 0
            for packet in queued { write(packet, to: connection, sameLoop: connection.eventLoopID == eventLoopID) }
            connection.flush()
            logger.debug("upgraded to websocket", metadata: ["eio.sid": "\(id)"])
        default:
            // Anything else on a probe is a broken upgrade: drop the probe, keep polling.
            dropProbe()
            connection.close(code: .protocolError)
        }
    }

    /// During an upgrade the client pauses polling: it waits for the answer to the GET it has pending (or in flight)
    /// before it sends `5`. That GET gets a noop after 100 ms, unless `5` arrives first: then it was a GET sent after
    /// `5` that overtook it (the WebSocket may live on another event loop, and its packets reach the session by a
    /// hop), and the upgrade answers it 400. Engine.IO's reference server waits up to 100 ms in the same way.
    private func releasePausedPollSoon() {
        pausedPollRelease?.cancel()
        pausedPollRelease = timers.schedule(in: .milliseconds(100)) { [self] in
            pausedPollRelease = nil
            guard let pending = pendingPoll else { return }
            pendingPoll = nil
            pending.succeed(pollResponse([.control(.noop)], supportsBinary: pendingPollSupportsBinary))
        }
    }

    /// Answers 400 to a GET on a session that no longer polls. Within ``refusalDelayAfterUpgrade`` of the upgrade
    /// the answer waits for the rest of it: such a GET was sent while upgrading, right behind `5`, and its client
    /// must read the WebSocket's `3probe` first. Answered at once, the 400 could reach it in the same turn of its
    /// event loop as `3probe`, and a client that dispatches WebSocket messages later in the turn (Node's `ws`)
    /// then sees them in the wrong order: the official suite's "ignores HTTP requests with same sid after upgrade"
    /// failed that way now and then once our GETs no longer took a thread hop.
    private func refuseAfterUpgrade(_ promise: EventLoopPromise<Response>) {
        if !isClosed, let deadline = upgradedAt.map({ $0 + Self.refusalDelayAfterUpgrade }), deadline > .now() {
            _ = timers.schedule(at: deadline) { promise.fail(EngineIOHTTPError.badRequest) }
        } else {
            promise.fail(EngineIOHTTPError.badRequest)
        }
    }

    /// How long after an upgrade a GET for the old transport waits for its 400.
    static let refusalDelayAfterUpgrade = TimeAmount.milliseconds(20)

    fileprivate func probeClosed(_ connection: WebSocketConnection) {
        if probe === connection { dropProbe() }
    }

    /// Forgets a probe that failed: the session keeps polling.
    private func dropProbe() {
        probe = nil
        probeAnswered = false
        upgradeTimer?.cancel()
        upgradeTimer = nil
    }

    // MARK: - Inbound packets

    fileprivate func handle(_ packet: EngineIOPacket, viaProbe: Bool) {
        switch packet.type {
        case .message:
            switch packet.payload {
            case .text(let text): delegate?.session(self, didReceive: .text(text))
            case .binary(let bytes): delegate?.session(self, didReceive: .binary(bytes))
            }
        case .pong:
            if version == .v4 { heartbeatAnswered() }
        case .ping:
            if version == .v3 {
                send(.control(.pong, text: packet.text ?? ""))
                heartbeatAnswered()
            }
        case .close:
            close(reason: .clientClose)
        case .noop, .upgrade:
            break
        case .open:
            close(reason: .transportError)
        }
    }

    fileprivate func receivedFrame(_ message: WebSocketMessage, connection: WebSocketConnection) {
        guard !isClosed else {
            // A probe that outlived its session (see `close`): the client switched to it, so cut it to make the
            // client notice and reconnect.
            connection.abort()
            return
        }
        let packet: EngineIOPacket
        do {
            switch message {
            case .text(let text): packet = try EngineIOPacket(webSocketText: text, version: version)
            case .binary(let bytes): packet = try EngineIOPacket(webSocketBinary: bytes, version: version)
            }
        } catch {
            logger.debug("invalid websocket packet", metadata: ["eio.sid": "\(id)", "error.message": "\(error)"])
            if probe === connection {
                probeClosed(connection)
                connection.close(code: .protocolError)
            } else {
                close(reason: .transportError)
            }
            return
        }
        if probe === connection {
            receivedOnProbe(packet, connection: connection)
        } else if case .websocket(let current) = transport, current === connection {
            handle(packet, viaProbe: false)
        }
    }

    fileprivate func webSocketClosed(_ connection: WebSocketConnection) {
        if probe === connection {
            probeClosed(connection)
        } else if case .websocket(let current) = transport, current === connection {
            close(reason: .transportClose)
        }
    }

    // MARK: - Heartbeat

    // The timers hold the session strongly, and `close` cancels them all (which releases their closures at once). A
    // weak capture would give every session a weak-reference side table for life, and every retain of a session on
    // the broadcast path would then take the runtime's slow path (measured: 12 % of a 19k-client fan-out).
    private func startHeartbeat() {
        switch version {
        case .v4:
            heartbeatTimer = timers.schedule(in: TimeAmount(configuration.pingInterval)) { [self] in
                sendPing()
            }
        case .v3:
            // The client pings; without a ping for pingInterval + pingTimeout the session is gone.
            pongDeadline = timers.schedule(in: TimeAmount(configuration.pingInterval + configuration.pingTimeout)) { [self] in
                close(reason: .pingTimeout)
            }
        }
    }

    private func sendPing() {
        guard !isClosed else { return }
        send(.control(.ping))
        pongDeadline = timers.schedule(in: TimeAmount(configuration.pingTimeout)) { [self] in
            close(reason: .pingTimeout)
        }
    }

    private func heartbeatAnswered() {
        pongDeadline?.cancel()
        pongDeadline = nil
        heartbeatTimer?.cancel()
        startHeartbeat()
    }

    // MARK: - Closing

    /// Ends the session: the client is told (close packet) when possible, the delegate learns the reason.
    public func close(reason: EngineIOCloseReason = .forcedClose) {
        close(reason: reason, notifyClient: reason != .transportClose && reason != .clientClose)
    }

    /// Ends the session without a close packet, as if the network failed: official clients reconnect.
    public func abort() {
        close(reason: .forcedClose, notifyClient: false)
    }

    private func close(reason: EngineIOCloseReason, notifyClient tellClient: Bool) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.close(reason: reason, notifyClient: tellClient) }
            return
        }
        guard !isClosed else { return }
        isClosed = true
        heartbeatTimer?.cancel()
        pongDeadline?.cancel()
        upgradeTimer?.cancel()
        pausedPollRelease?.cancel()
        server?.remove(self)

        switch transport {
        case .polling:
            if let pending = pendingPoll {
                pendingPoll = nil
                if reason == .clientClose {
                    pending.succeed(pollResponse([.control(.noop)], supportsBinary: pendingPollSupportsBinary))
                } else if tellClient {
                    pending.succeed(pollResponse([.control(.close)], supportsBinary: pendingPollSupportsBinary))
                } else {
                    pending.fail(EngineIOHTTPError.unknownSession)
                }
            }
        case .websocket(let connection):
            if !tellClient {
                connection.abort()
            } else {
                var close = ByteBuffer()
                close.writeInteger(EngineIOPacketType.close.digit)
                connection.write(.text(close))
            }
            connection.close(code: reason == .serverShuttingDown ? .goingAway : .normalClosure)
        }
        if let probe {
            // Closing a probe makes a client that already paused polling wait forever (engine.io-client ignores
            // the failed probe but stays paused). Let it send `5` and switch, then cut it (receivedFrame), or
            // cut it after the upgrade timeout.
            eventLoop.scheduleTask(in: TimeAmount(configuration.upgradeTimeout)) { probe.abort() }
            self.probe = nil
        }
        queue.removeAll()
        queuedBytes = 0
        logger.debug("session closed", metadata: ["eio.sid": "\(id)", "eio.reason": "\(reason)"])
        let delegate = self.delegate
        self.delegate = nil
        delegate?.session(self, didCloseWith: reason)
    }
}

/// Connects a WebSocket to its session (as the main transport or as an upgrade probe).
///
/// Called on the connection's event loop; hops to the session's loop when they differ (a polling session
/// upgraded over a connection that landed on another loop). `execute` keeps frames in order.
private final class WebSocketTransport: WebSocketDelegate {
    let session: EngineIOSession

    init(session: EngineIOSession) {
        self.session = session
    }

    func webSocket(_ connection: WebSocketConnection, didReceive message: WebSocketMessage) {
        let session = self.session
        if session.eventLoop === connection.eventLoop {
            session.receivedFrame(message, connection: connection)
        } else {
            session.eventLoop.execute { session.receivedFrame(message, connection: connection) }
        }
    }

    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {
        let session = self.session
        if session.eventLoop === connection.eventLoop {
            session.webSocketClosed(connection)
        } else {
            session.eventLoop.execute { session.webSocketClosed(connection) }
        }
    }

    func webSocketShouldQuiesce(_ connection: WebSocketConnection) {
        session.close(reason: .serverShuttingDown)
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
