import HTTPTypes
import Logging
public import NIOCore
import PushinatorEventLoop
public import PushinatorHTTP
import PushinatorJSON

/// One Engine.IO connection: its transport (polling or WebSocket), outbound queue, heartbeat and upgrade.
///
/// A Sendable handle: its public API may be called from anywhere (it hops to ``eventLoop``), and is cheapest
/// there. The protocol decisions are made by an ``EngineIOSessionStateMachine`` confined to the loop; this class
/// only carries its actions out on NIO (answers polls, writes frames, runs timers). Packets queued for a polling
/// client are sent together in the next poll response; packets for a WebSocket client are written at once and
/// flushed once per event-loop tick.
public final class EngineIOSession: EngineIOConnection, @unchecked Sendable {
    // What a broadcast reads for every recipient comes first, so that it shares one cache line (Swift lays out a
    // class's stored properties in declaration order): the loop and the protocol state, whose transport comes first.
    /// The identity of ``eventLoop``: compare it with `ObjectIdentifier(loop)` to group sessions by loop (as a
    /// broadcast does) without touching the existential.
    public let eventLoopID: ObjectIdentifier
    /// `@exclusivity(unchecked)`: every access is on ``eventLoop`` and ends before its actions are carried out (the
    /// machine is a value type that calls nothing back), so no two accesses can overlap; the runtime check cost a
    /// broadcast ~80 instructions per recipient (`swift_beginAccess` in `sendOnLoop`).
    @exclusivity(unchecked) private var machine: EngineIOSessionStateMachine<WebSocketConnection>
    /// The protocol revision the client speaks.
    public let version: EngineIOVersion
    /// The session id (`sid`).
    public let id: String
    /// The event loop that owns this session.
    public let eventLoop: any EventLoop
    /// The handshake request (headers, query), for the layers above; rebuilt on every read from ``handshakeHead``.
    public var handshake: Request { handshakeHead.request }
    /// The handshake request's head, as the session keeps it (one byte array): read its ``EngineIOHandshake/headers``
    /// or ``EngineIOHandshake/query`` without rebuilding the whole request.
    public let handshakeHead: EngineIOHandshake
    /// The client's address.
    public let remoteAddress: SocketAddress?

    /// Receives messages and the close; set it in ``EngineIOServerDelegate/engineIO(_:didOpen:request:context:)``.
    ///
    /// Loop-confined: read and set it on ``eventLoop`` only (checked).
    public var delegate: (any EngineIOSessionDelegate)? {
        get { _delegate.get(on: eventLoop) }
        set { _delegate.set(newValue, on: eventLoop) }
    }
    /// The delegate, for this class's own code, which runs on ``eventLoop``. `@exclusivity(unchecked)`: read and set
    /// on the loop only, each access over before the delegate is called (a runtime check per message otherwise).
    @exclusivity(unchecked) private var _delegate = LoopConfined<(any EngineIOSessionDelegate)?>(nil)

    private let logger: Logger
    private weak var server: EngineIOServer?
    /// The GET being held (the machine knows whether there is one; this is its answer channel).
    private var pendingPoll: EventLoopPromise<Response>?
    private var heartbeatTimer: LoopTimers.Timer?
    private var pongDeadline: LoopTimers.Timer?
    private var upgradeTimer: LoopTimers.Timer?
    private var pausedPollRelease: LoopTimers.Timer?
    /// The event loop's timers (one NIO timer for every session of the loop).
    private lazy var timers = LoopTimers.on(eventLoop)
    /// The process-wide budget a polling client's queue is charged to while it is behind, and the charge held.
    private let budget: MemoryBudget
    private let maxBufferedBytes: Int
    private var queueCharge = 0
    /// Whether ``EngineIOStatistics`` counts this session among the WebSocket ones.
    private var countedAsWebSocket = false

    init(
        id: String,
        eventLoop: any EventLoop,
        version: EngineIOVersion,
        handshake: Request,
        remoteAddress: SocketAddress?,
        webSocket: WebSocketConnection?,
        configuration: EngineIOConfiguration,
        machineConfiguration: EngineIOSessionStateMachine<WebSocketConnection>.Configuration,
        server: EngineIOServer,
        logger: Logger
    ) {
        self.id = id
        self.eventLoop = eventLoop
        self.eventLoopID = ObjectIdentifier(eventLoop)
        self.version = version
        self.handshakeHead = EngineIOHandshake(handshake)
        self.remoteAddress = remoteAddress
        self.server = server
        self.logger = logger
        self.budget = configuration.memoryBudget
        self.maxBufferedBytes = configuration.maxBufferedBytes
        self.machine = EngineIOSessionStateMachine(configuration: machineConfiguration, webSocket: webSocket)
    }

    /// The name of the current transport (`polling` or `websocket`); read it on ``eventLoop``.
    public var transportName: String { machine.transportName }

    /// Whether the session ended; read it on ``eventLoop``.
    var isClosed: Bool { machine.isClosed }

    /// Whether a polling GET is being held (for tests); read it on ``eventLoop``.
    var isHoldingPoll: Bool { machine.isHoldingPoll }

    /// Whether a WebSocket is trying to replace polling (for tests); read it on ``eventLoop``.
    var isProbing: Bool { machine.isProbing }

    // MARK: - Start

    /// Sends the open packet (rendered from the server's `template`) and starts the heartbeat. Called once, on the
    /// event loop.
    func open(template: EngineIOOpenPacketTemplate?, statistics: EngineIOStatistics) {
        if case .webSocket(let connection, _) = machine.state {
            connection.delegate = WebSocketTransport(session: self)
            countedAsWebSocket = true
            statistics.webSocketOpened(upgrade: false)
        }
        run(machine.opened(sid: id, now: .now(), template: template))
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
    ///
    /// Call it on ``eventLoop`` only (checked in debug builds); ``send(_:)-([EngineIOEncodedPacket])`` works from
    /// anywhere.
    public func sendOnLoop(_ packets: [EngineIOEncodedPacket]) {
        for packet in packets { sendOnLoop(packet) }
    }

    private func sendOnLoop(_ packet: EngineIOEncodedPacket) {
        eventLoop.assertInEventLoop()
        switch machine.send(packet) {
        case .write(let connection): write(packet, to: connection)
        case .none: if queueCharge == 0, machine.queuedBytes > maxBufferedBytes / 2 { chargeQueue() }
        case .drainSoon: scheduleDrain()
        case .actions(let actions): run(actions)
        }
    }

    /// A polling client that has not fetched half of ``EngineIOConfiguration/maxBufferedBytes`` may make the server
    /// hold all of it: that much is charged to the memory budget until a poll takes the queue below half again or
    /// the session ends; when the budget refuses, the session is closed like a slow consumer. One check per packet,
    /// one atomic add per client that falls behind.
    private func chargeQueue() {
        guard budget.tryReserve(maxBufferedBytes, for: .pollingOutbound) else {
            logger.debug("closing a polling client: no memory budget left for its queue", metadata: ["eio.sid": "\(id)"])
            return close(reason: .slowConsumer)
        }
        queueCharge = maxBufferedBytes
    }

    private func releaseQueueCharge() {
        guard queueCharge > 0 else { return }
        budget.release(queueCharge)
        queueCharge = 0
    }

    /// Sends several packets in order (a Socket.IO packet and its binary attachments).
    public func send(_ packets: [EngineIOEncodedPacket]) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.send(packets) }
            return
        }
        sendOnLoop(packets)
    }

    /// Writes a packet and flushes at the end of the tick. A polling session that upgraded over a WebSocket accepted
    /// on another loop stays on its own loop: then the connection's methods hop (rare); otherwise the on-loop path.
    private func write(_ packet: EngineIOEncodedPacket, to connection: WebSocketConnection) {
        let frame = packet.webSocketFrame(for: version)
        if connection.eventLoopID == eventLoopID {
            connection.writeOnLoop(frame)
            connection.scheduleFlushOnLoop()
        } else {
            connection.write(frame)
            connection.scheduleFlush()
        }
    }

    // MARK: - Carrying out actions

    private func run(_ actions: [EngineIOSessionStateMachine<WebSocketConnection>.Action]) {
        for action in actions { run(action) }
    }

    private func run(_ action: EngineIOSessionStateMachine<WebSocketConnection>.Action) {
        switch action {
        case .holdPoll, .refusePoll:
            // only `pollArrived` asks for these, and `poll` carries them out on its own promise
            assertionFailure("poll action outside poll(supportsBinary:)")
        case .answerPendingPoll(let packets, let supportsBinary):
            guard let pending = pendingPoll else { return }
            pendingPoll = nil
            pending.succeed(EngineIOPollResponse.make(packets, version: version, supportsBinary: supportsBinary))
            if queueCharge > 0, machine.queuedBytes <= maxBufferedBytes / 2 { releaseQueueCharge() }
        case .refusePendingPoll(let delay):
            guard let pending = pendingPoll else { return }
            pendingPoll = nil
            refuse(pending, after: delay)
        case .failPendingPoll:
            pendingPoll?.fail(EngineIOHTTPError.unknownSession)
            pendingPoll = nil
        case .drainSoon:
            scheduleDrain()
        case .write(let packet, let connection):
            write(packet, to: connection)
        case .flush(let connection):
            connection.flush()
        case .sendText(let text, let connection):
            connection.send(text: ByteBuffer(string: text))
        case .closeTransport(let connection, let code):
            connection.close(code: code)
        case .abortTransport(let connection, nil):
            connection.abort()
        case .abortTransport(let connection, let delay?):
            eventLoop.scheduleTask(in: delay) { connection.abort() }
        case .schedule(let timer, let delay):
            // Strong on purpose (`close` cancels every timer, which releases its closure at once): a weak capture
            // would give every session a weak-reference side table for life, and every retain of a session on the
            // broadcast path would then take the runtime's slow path (measured: 12 % of a 19k-client fan-out).
            let scheduled = timers.schedule(in: delay) { [self] in timerFired(timer) }
            replaceTimer(timer, with: scheduled)
        case .cancel(let timer):
            replaceTimer(timer, with: nil)
        case .cancelAllTimers:
            for timer in EngineIOSessionStateMachine<WebSocketConnection>.Timer.allCases { replaceTimer(timer, with: nil) }
        case .deliver(let message):
            guard !machine.isClosed else { return }
            _delegate.unchecked?.session(self, didReceive: message)
        case .upgraded:
            releaseQueueCharge()  // the queue left over the WebSocket
            logger.debug("upgraded to websocket", metadata: ["eio.sid": "\(id)"])
            if !countedAsWebSocket {
                countedAsWebSocket = true
                server?.statistics.webSocketOpened(upgrade: true)
            }
        case .closed(let reason):
            releaseQueueCharge()
            if countedAsWebSocket {
                countedAsWebSocket = false
                server?.statistics.webSocketClosed()
            }
            if reason == .slowConsumer { server?.statistics.slowConsumers.recordDisconnect() }
            server?.remove(self)
            logger.debug("session closed", metadata: ["eio.sid": "\(id)", "eio.reason": "\(reason)"])
            let delegate = _delegate.unchecked
            _delegate.unchecked = nil
            delegate?.session(self, didCloseWith: reason)
        }
    }

    /// Answers a GET with 400, after `delay`. When the WebSocket that replaced polling lives on another event loop,
    /// the 400 also waits its turn on that loop: what the session handed the WebSocket before (`3probe`) is then
    /// written ahead of it however late either loop runs (the delay alone leaves that to the scheduler).
    private func refuse(_ promise: EventLoopPromise<Response>, after delay: TimeAmount?) {
        let fail: () -> Void
        if case .webSocket(let transport, upgradedAt: _?) = machine.state, transport.eventLoopID != eventLoopID {
            fail = { transport.eventLoop.execute { promise.fail(EngineIOHTTPError.badRequest) } }
        } else {
            fail = { promise.fail(EngineIOHTTPError.badRequest) }
        }
        if let delay {
            _ = timers.schedule(in: delay, fail)
        } else {
            fail()
        }
    }

    private func replaceTimer(_ timer: EngineIOSessionStateMachine<WebSocketConnection>.Timer, with new: LoopTimers.Timer?) {
        switch timer {
        case .heartbeat:
            heartbeatTimer?.cancel()
            heartbeatTimer = new
        case .pongDeadline:
            pongDeadline?.cancel()
            pongDeadline = new
        case .upgrade:
            upgradeTimer?.cancel()
            upgradeTimer = new
        case .pausedPollRelease:
            pausedPollRelease?.cancel()
            pausedPollRelease = new
        }
    }

    private func timerFired(_ timer: EngineIOSessionStateMachine<WebSocketConnection>.Timer) {
        replaceTimer(timer, with: nil)
        run(machine.timerFired(timer, now: .now()))
    }

    // MARK: - Polling

    /// Answers a polling GET: at once when packets are queued, otherwise when the next packet is sent.
    func poll(supportsBinary: Bool) -> EventLoopFuture<Response> {
        eventLoop.preconditionInEventLoop()
        let promise = eventLoop.makePromise(of: Response.self)
        for action in machine.pollArrived(supportsBinary: supportsBinary, now: .now()) {
            switch action {
            case .holdPoll: pendingPoll = promise
            case .refusePoll(let delay): refuse(promise, after: delay)
            default: run(action)
            }
        }
        return promise.futureResult
    }

    /// Handles the body of a polling POST.
    func receive(pollingBody body: ByteBuffer) throws {
        eventLoop.preconditionInEventLoop()
        let result = machine.payloadPosted(body, now: .now())
        if result.refusal == .badRequest {
            logger.debug("invalid polling payload", metadata: ["eio.sid": "\(id)"])
        }
        run(result.actions)
        if let refusal = result.refusal { throw refusal }
    }

    private func scheduleDrain() {
        // Wait for the end of this tick so that packets sent together leave in one response.
        eventLoop.execute {
            if let action = self.machine.drainDue() { self.run(action) }
        }
    }

    // MARK: - WebSocket upgrade

    /// Takes a WebSocket that wants to replace polling (it will send `2probe`), or closes it when the session
    /// cannot upgrade. Called on the session's loop; the connection's delegate was set by
    /// ``makeWebSocketDelegate()`` on the connection's loop.
    func beginUpgrade(_ connection: WebSocketConnection) {
        eventLoop.preconditionInEventLoop()
        run(machine.upgradeRequested(by: connection))
    }

    /// The delegate that feeds a WebSocket's frames to this session, hopping to the session's loop when the
    /// connection lives on another one. Set it on the connection's loop before any frame can arrive.
    func makeWebSocketDelegate() -> any WebSocketDelegate {
        WebSocketTransport(session: self)
    }

    fileprivate func receivedFrame(_ message: WebSocketMessage, connection: WebSocketConnection) {
        let packet: EngineIOPacket
        do {
            switch message {
            case .text(let text): packet = try EngineIOPacket(webSocketText: text, version: version)
            case .binary(let bytes): packet = try EngineIOPacket(webSocketBinary: bytes, version: version)
            }
        } catch {
            logger.debug("invalid websocket packet", metadata: ["eio.sid": "\(id)", "error.message": "\(error)"])
            run(machine.receivedInvalidFrame(on: connection))
            return
        }
        switch machine.received(packet, on: connection, now: .now()) {
        case .deliver(let message): _delegate.unchecked?.session(self, didReceive: message)
        case .actions(let actions): run(actions)
        }
    }

    fileprivate func webSocketClosed(_ connection: WebSocketConnection) {
        run(machine.transportClosed(connection))
    }

    // MARK: - Closing

    /// Ends the session: the client is told (close packet) when possible, the delegate learns the reason.
    public func close(reason: EngineIOCloseReason = .forcedClose) {
        close(reason: reason, notifyClient: nil)
    }

    /// Ends the session without a close packet, as if the network failed: official clients reconnect.
    public func abort() {
        close(reason: .forcedClose, notifyClient: false)
    }

    private func close(reason: EngineIOCloseReason, notifyClient: Bool?) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.close(reason: reason, notifyClient: notifyClient) }
            return
        }
        run(machine.close(reason: reason, notifyClient: notifyClient))
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
