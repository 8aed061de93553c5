import NIOCore
import PushinatorHTTP
import PushinatorJSON

/// The protocol logic of one Engine.IO session, without I/O: transports, polling, the WebSocket upgrade, heartbeats
/// and closing.
///
/// Each event (a poll arrives, a packet is queued, a frame arrives on the probe...) is a `mutating func` that
/// returns what to do: answer or refuse a poll, write packets, schedule or cancel a timer, close a transport, report
/// the end. ``EngineIOSession`` carries the actions out on its event loop. Time comes in as a parameter (`now`), and
/// timers are named (``Timer``): a test drives whole sequences without sockets or clocks.
///
/// `Transport` is the WebSocket type (`WebSocketConnection` in the server, any class in tests); transports are
/// compared by identity.
struct EngineIOSessionStateMachine<Transport: AnyObject> {
    /// The settings the protocol logic needs.
    struct Configuration {
        var version: EngineIOVersion
        var pingInterval: TimeAmount
        var pingTimeout: TimeAmount
        var upgradeTimeout: TimeAmount
        var maxPayload: Int
        var maxBufferedBytes: Int
        var maxPacketsPerPoll: Int
        /// Whether a polling session may upgrade to WebSocket (advertised in the handshake).
        var allowsUpgrade: Bool

        init(_ configuration: EngineIOConfiguration, version: EngineIOVersion) {
            self.version = version
            self.pingInterval = TimeAmount(configuration.pingInterval)
            self.pingTimeout = TimeAmount(configuration.pingTimeout)
            self.upgradeTimeout = TimeAmount(configuration.upgradeTimeout)
            self.maxPayload = configuration.maxPayload
            self.maxBufferedBytes = configuration.maxBufferedBytes
            self.maxPacketsPerPoll = configuration.maxPacketsPerPoll
            self.allowsUpgrade = configuration.transports.contains(.websocket)
        }
    }

    /// The session's timers; scheduling one replaces the pending timer of the same name.
    enum Timer: Hashable, CaseIterable {
        /// v4: the next ping is due.
        case heartbeat
        /// v4: the pong is overdue; v3: the client's ping is overdue.
        case pongDeadline
        /// The probe did not finish the upgrade in time.
        case upgrade
        /// The GET held during an upgrade gets its noop (see ``EngineIOSessionStateMachine/pausedPollDelay``).
        case pausedPollRelease
    }

    /// What the session does in answer to an event, in order.
    enum Action {
        /// Hold the poll that just arrived until packets are queued.
        case holdPoll
        /// Refuse the poll that just arrived with 400, at once (`nil`) or after a delay.
        case refusePoll(after: TimeAmount?)
        /// Answer the held poll with these packets.
        case answerPendingPoll([EngineIOEncodedPacket], supportsBinary: Bool)
        /// Refuse the held poll with 400, at once (`nil`) or after a delay.
        case refusePendingPoll(after: TimeAmount?)
        /// Fail the held poll as if the session were unknown (the session was aborted).
        case failPendingPoll
        /// At the end of this event-loop tick, call ``drainDue()`` (packets sent together leave together).
        case drainSoon
        /// Write a packet on a WebSocket and flush at the end of the tick.
        case write(EngineIOEncodedPacket, to: Transport)
        /// Flush a WebSocket now.
        case flush(Transport)
        /// Send a text frame (`3probe`) on a WebSocket and flush.
        case sendText(String, to: Transport)
        /// Close a WebSocket with a close frame.
        case closeTransport(Transport, code: WebSocketCloseCode)
        /// Cut a WebSocket without a close frame, now or after a delay.
        case abortTransport(Transport, after: TimeAmount?)
        /// Start a timer (replacing a pending one of the same name); when it fires call ``timerFired(_:now:)``.
        case schedule(Timer, in: TimeAmount)
        /// Stop a timer.
        case cancel(Timer)
        /// Stop every timer.
        case cancelAllTimers
        /// Hand a message to the layer above.
        case deliver(EngineIOMessage)
        /// The WebSocket replaced polling.
        case upgraded
        /// The session ended: forget it and tell the layer above.
        case closed(EngineIOCloseReason)
    }

    /// What ``send(_:)`` asks for; the hot path of every broadcast, so no array.
    enum SendAction {
        /// Write the packet on this WebSocket and flush at the end of the tick.
        case write(Transport)
        /// Queued for the next poll; nothing to do.
        case none
        /// Queued and a poll is waiting: ``Action/drainSoon``.
        case drainSoon
        /// The packet could not be queued: carry out these actions (the session closes).
        case actions([Action])
    }

    /// What an inbound packet asks for; a message (the common case) needs no array.
    enum ReceiveAction {
        /// Hand the message to the layer above.
        case deliver(EngineIOMessage)
        /// Carry out these actions.
        case actions([Action])
    }

    /// A WebSocket trying to replace polling.
    struct Probe {
        let transport: Transport
        /// It answered `2probe` with `3probe`: the client pauses polling until it sends `5`.
        var answered: Bool
    }

    enum State {
        /// Long-polling; `poll` holds the `b64` choice of the GET being held, `probe` an upgrade in progress.
        case polling(poll: PendingPoll?, probe: Probe?)
        /// WebSocket; `upgradedAt` is when it replaced polling (nil when the session began on it).
        case webSocket(Transport, upgradedAt: NIODeadline?)
        /// Over; `upgradedAt` as in `webSocket`.
        case closed
    }

    /// A GET being held.
    struct PendingPoll {
        var supportsBinary: Bool
    }

    /// How long the GET held during an upgrade waits for the client's `5` before it gets a noop. Engine.IO's
    /// reference server waits up to 100 ms in the same way.
    static var pausedPollDelay: TimeAmount { .milliseconds(100) }

    /// How long after an upgrade a GET for the old transport waits for its 400 (see ``pollArrived(supportsBinary:now:)``).
    static var refusalDelayAfterUpgrade: TimeAmount { .milliseconds(20) }

    let configuration: Configuration
    private(set) var state: State
    /// Packets waiting for the next poll (polling only).
    private var queue = PollingQueue()
    /// The bytes of the packets queued for the next poll.
    private(set) var queuedBytes = 0
    private var drainScheduled = false
    /// v4: when the next ping is due (the heartbeat timer's deadline).
    private var heartbeatDueAt: NIODeadline?
    /// When the session is gone unless the client answers (v4: pongs, v3: pings). A GET or POST that arrives later
    /// ends the session at once, even when the timer has not fired yet (a busy event loop runs timers late).
    private var pongDueAt: NIODeadline?

    /// Creates the machine of a session that starts on polling (`webSocket` nil) or on a WebSocket.
    init(configuration: Configuration, webSocket: Transport?) {
        self.configuration = configuration
        if let webSocket {
            state = .webSocket(webSocket, upgradedAt: nil)
        } else {
            state = .polling(poll: nil, probe: nil)
        }
    }

    /// Whether the session ended.
    var isClosed: Bool {
        if case .closed = state { true } else { false }
    }

    /// The name of the current transport (`polling` or `websocket`).
    var transportName: String {
        if case .webSocket = state { "websocket" } else { "polling" }
    }

    /// Whether a polling GET is being held.
    var isHoldingPoll: Bool {
        if case .polling(poll: _?, probe: _) = state { true } else { false }
    }

    /// Whether a WebSocket is trying to replace polling.
    var isProbing: Bool {
        if case .polling(poll: _, probe: _?) = state { true } else { false }
    }

    /// The number of packets waiting for a poll.
    var queuedPacketCount: Int { queue.count }

    // MARK: - Opening

    /// The session starts: the open packet with the handshake data, and the first heartbeat timer.
    /// - Parameter template: The server's pre-rendered open packet for ``configuration`` (the same bytes, cheaper);
    ///   `nil` builds it with ``openPacket(sid:upgrades:configuration:)``.
    mutating func opened(sid: String, now: NIODeadline, template: EngineIOOpenPacketTemplate? = nil) -> [Action] {
        var upgrades = false
        if case .polling = state, configuration.allowsUpgrade { upgrades = true }
        var actions: [Action] = []
        actions.reserveCapacity(3)
        let packet =
            template?.packet(sid: sid, upgrades: upgrades)
            ?? Self.openPacket(sid: sid, upgrades: upgrades, configuration: configuration)
        enqueue(packet, into: &actions)
        if !isClosed { startHeartbeat(now: now, into: &actions) }
        return actions
    }

    /// The open packet: `0{"sid":...,"upgrades":[...],"pingInterval":...,"pingTimeout":...,"maxPayload":...}`, the
    /// members in that order, written straight into its buffer (a `JSONValue` object and its text took 14k
    /// instructions of every connect).
    static func openPacket(sid: String, upgrades: Bool, configuration: Configuration) -> EngineIOEncodedPacket {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(112 + sid.utf8.count)
        buffer.writeInteger(EngineIOPacketType.open.digit)
        buffer.writeStaticString(#"{"sid":"#)
        JSONValue.string(sid).write(to: &buffer)
        buffer.writeStaticString(upgrades ? #","upgrades":["websocket"],"pingInterval":"# : #","upgrades":[],"pingInterval":"#)
        buffer.writeString(String(configuration.pingInterval.nanoseconds / 1_000_000))
        buffer.writeStaticString(#","pingTimeout":"#)
        buffer.writeString(String(configuration.pingTimeout.nanoseconds / 1_000_000))
        buffer.writeStaticString(#","maxPayload":"#)
        buffer.writeString(String(configuration.maxPayload))
        buffer.writeInteger(UInt8(ascii: "}"))
        return EngineIOEncodedPacket(kind: .text(buffer))
    }

    // MARK: - Sending

    /// A packet for the client: written at once on a WebSocket, queued for the next poll otherwise.
    mutating func send(_ packet: EngineIOEncodedPacket) -> SendAction {
        switch state {
        case .webSocket(let transport, _):
            return .write(transport)
        case .closed:
            return .none
        case .polling(let poll, _):
            queuedBytes += packet.byteCount
            guard queuedBytes <= configuration.maxBufferedBytes else {
                return .actions(close(reason: .slowConsumer))
            }
            queue.append(packet)
            guard poll != nil, !drainScheduled else { return .none }
            drainScheduled = true
            return .drainSoon
        }
    }

    private mutating func enqueue(_ packet: EngineIOEncodedPacket, into actions: inout [Action]) {
        switch send(packet) {
        case .write(let transport): actions.append(.write(packet, to: transport))
        case .none: break
        case .drainSoon: actions.append(.drainSoon)
        case .actions(let more): actions.append(contentsOf: more)
        }
    }

    /// The end of the tick after ``Action/drainSoon``: the held poll takes as many queued packets as fit.
    mutating func drainDue() -> Action? {
        drainScheduled = false
        guard case .polling(let poll?, let probe) = state, !queue.isEmpty else { return nil }
        state = .polling(poll: nil, probe: probe)
        var batch: [EngineIOEncodedPacket] = []
        var bytes = 0
        while let next = queue.first,
            batch.isEmpty
                || (bytes + next.byteCount <= configuration.maxPayload && batch.count < configuration.maxPacketsPerPoll)
        {
            queue.removeFirst()
            bytes += next.byteCount
            batch.append(next)
        }
        queuedBytes -= bytes
        return .answerPendingPoll(batch, supportsBinary: poll.supportsBinary)
    }

    // MARK: - Polling

    /// A polling GET arrived. It is held (answered when packets are queued), or refused: 400 on a session that no
    /// longer polls, and a second concurrent GET ends the session.
    ///
    /// Within ``refusalDelayAfterUpgrade`` of the upgrade the 400 waits: such a GET was sent while upgrading, right
    /// behind `5`, and its client must read the WebSocket's `3probe` first. Answered at once, the 400 could reach
    /// it in the same turn of its event loop as `3probe`, and a client that dispatches WebSocket messages later in
    /// the turn (Node's `ws`) then sees them in the wrong order.
    mutating func pollArrived(supportsBinary: Bool, now: NIODeadline) -> [Action] {
        if let due = pongDueAt, now >= due, !isClosed {
            return [.refusePoll(after: nil)] + close(reason: .pingTimeout)
        }
        switch state {
        case .closed, .webSocket(_, upgradedAt: nil):
            return [.refusePoll(after: nil)]
        case .webSocket(_, upgradedAt: let upgradedAt?):
            let wait = upgradedAt + Self.refusalDelayAfterUpgrade - now
            return [.refusePoll(after: wait > .zero ? wait : nil)]
        case .polling(poll: let pending?, probe: _):
            // A second concurrent GET breaks the protocol: the first GET learns it by `1`, the second gets 400.
            var actions: [Action] = [
                .answerPendingPoll([.control(.close)], supportsBinary: pending.supportsBinary),
                .refusePoll(after: nil),
            ]
            state = .polling(poll: nil, probe: probeOfPolling)
            actions.append(contentsOf: close(reason: .transportError))
            return actions
        case .polling(poll: nil, let probe):
            state = .polling(poll: PendingPoll(supportsBinary: supportsBinary), probe: probe)
            if let probe, probe.answered {
                return [.holdPoll, .schedule(.pausedPollRelease, in: Self.pausedPollDelay)]
            }
            guard !queue.isEmpty, !drainScheduled else { return [.holdPoll] }
            drainScheduled = true
            return [.holdPoll, .drainSoon]
        }
    }

    private var probeOfPolling: Probe? {
        if case .polling(_, let probe) = state { probe } else { nil }
    }

    /// The outcome of a polling POST.
    struct PostResult {
        /// What to do (deliver the messages...), in order.
        var actions: [Action]
        /// The error the POST is answered with, or nil for `ok`.
        var refusal: EngineIOHTTPError?
    }

    /// The body of a polling POST arrived.
    mutating func payloadPosted(_ body: ByteBuffer, now: NIODeadline) -> PostResult {
        guard case .polling = state else { return PostResult(actions: [], refusal: .badRequest) }
        if let due = pongDueAt, now >= due {
            return PostResult(actions: close(reason: .pingTimeout), refusal: .badRequest)
        }
        guard body.readableBytes <= configuration.maxPayload else {
            return PostResult(actions: close(reason: .transportError), refusal: .payloadTooLarge)
        }
        let packets: [EngineIOPacket]
        do {
            packets = try EngineIOPollingCodec(
                version: configuration.version,
                configuration: .init(maxPackets: 4096, maxPayloadBytes: configuration.maxPayload)
            ).decode(body)
        } catch {
            return PostResult(actions: close(reason: .transportError), refusal: .badRequest)
        }
        var actions: [Action] = []
        for packet in packets where !isClosed {
            switch handle(packet, now: { now }) {
            case .deliver(let message): actions.append(.deliver(message))
            case .actions(let more): actions.append(contentsOf: more)
            }
        }
        return PostResult(actions: actions, refusal: nil)
    }

    // MARK: - WebSocket

    /// A WebSocket for this session was accepted: it becomes the upgrade probe, or is closed when the session
    /// does not poll (ended, on WebSocket already) or has a probe.
    mutating func upgradeRequested(by transport: Transport) -> [Action] {
        guard case .polling(let poll, nil) = state else { return [.closeTransport(transport, code: .policyViolation)] }
        state = .polling(poll: poll, probe: Probe(transport: transport, answered: false))
        return [.schedule(.upgrade, in: configuration.upgradeTimeout)]
    }

    /// A packet arrived on a WebSocket (the session's or a probe).
    ///
    /// `now` is read only when the packet finishes an upgrade (not for every message).
    mutating func received(
        _ packet: EngineIOPacket,
        on transport: Transport,
        now: @autoclosure () -> NIODeadline
    ) -> ReceiveAction {
        switch state {
        case .closed:
            // A probe that outlived its session (see `close`): the client switched to it, so cut it to make the
            // client notice and reconnect.
            return .actions([.abortTransport(transport, after: nil)])
        case .webSocket(let current, _):
            guard current === transport else { return .actions([]) }
            return handle(packet, now: now)
        case .polling(let poll, let probe?):
            guard probe.transport === transport else { return .actions([]) }
            return .actions(receivedOnProbe(packet, probe: probe, poll: poll, now: now()))
        case .polling(_, nil):
            return .actions([])
        }
    }

    private mutating func receivedOnProbe(_ packet: EngineIOPacket, probe: Probe, poll: PendingPoll?, now: NIODeadline)
        -> [Action]
    {
        switch packet.type {
        case .ping where packet.text == "probe":
            // The held GET is released so that the client can pause polling.
            state = .polling(poll: poll, probe: Probe(transport: probe.transport, answered: true))
            var actions: [Action] = [.sendText("3probe", to: probe.transport)]
            if poll != nil { actions.append(.schedule(.pausedPollRelease, in: Self.pausedPollDelay)) }
            return actions
        case .upgrade:
            state = .webSocket(probe.transport, upgradedAt: now)
            var actions: [Action] = [.cancel(.upgrade), .cancel(.pausedPollRelease), .upgraded]
            if poll != nil {
                // a GET sent after the client's `5` that overtook it (the WebSocket may live on another event loop,
                // and its packets reach the session by a hop): polling is over
                actions.append(.refusePendingPoll(after: Self.refusalDelayAfterUpgrade))
            }
            for queued in queue { actions.append(.write(queued, to: probe.transport)) }
            queue.removeAll()
            queuedBytes = 0
            actions.append(.flush(probe.transport))
            return actions
        default:
            // Anything else on a probe is a broken upgrade: drop the probe, keep polling.
            state = .polling(poll: poll, probe: nil)
            return [.cancel(.upgrade), .closeTransport(probe.transport, code: .protocolError)]
        }
    }

    /// A WebSocket frame could not be decoded.
    mutating func receivedInvalidFrame(on transport: Transport) -> [Action] {
        switch state {
        case .polling(let poll, let probe?) where probe.transport === transport:
            state = .polling(poll: poll, probe: nil)
            return [.cancel(.upgrade), .closeTransport(transport, code: .protocolError)]
        case .webSocket(let current, _) where current === transport:
            return close(reason: .transportError)
        case .closed:
            return [.abortTransport(transport, after: nil)]
        default:
            return []
        }
    }

    /// A WebSocket closed (by the client or the network).
    mutating func transportClosed(_ transport: Transport) -> [Action] {
        switch state {
        case .polling(let poll, let probe?) where probe.transport === transport:
            state = .polling(poll: poll, probe: nil)
            return [.cancel(.upgrade)]
        case .webSocket(let current, _) where current === transport:
            return close(reason: .transportClose)
        default:
            return []
        }
    }

    // MARK: - Packets

    private mutating func handle(_ packet: EngineIOPacket, now: () -> NIODeadline) -> ReceiveAction {
        switch packet.type {
        case .message:
            switch packet.payload {
            case .text(let text): return .deliver(.text(text))
            case .binary(let bytes): return .deliver(.binary(bytes))
            }
        case .pong:
            guard configuration.version == .v4 else { return .actions([]) }
            var actions: [Action] = []
            startHeartbeat(now: now(), into: &actions)
            return .actions(actions)
        case .ping:
            guard configuration.version == .v3 else { return .actions([]) }
            var actions: [Action] = []
            enqueue(.control(.pong, text: packet.text ?? ""), into: &actions)
            if !isClosed { startHeartbeat(now: now(), into: &actions) }
            return .actions(actions)
        case .close:
            return .actions(close(reason: .clientClose))
        case .noop, .upgrade:
            return .actions([])
        case .open:
            return .actions(close(reason: .transportError))
        }
    }

    // MARK: - Timers

    /// v4: the server pings every `pingInterval` and waits `pingTimeout` for the pong. v3: the client pings; without
    /// a ping for `pingInterval + pingTimeout` the session is gone.
    private mutating func startHeartbeat(now: NIODeadline, into actions: inout [Action]) {
        switch configuration.version {
        case .v4:
            heartbeatDueAt = now + configuration.pingInterval
            pongDueAt = nil
            actions.append(.cancel(.pongDeadline))
            actions.append(.schedule(.heartbeat, in: configuration.pingInterval))
        case .v3:
            pongDueAt = now + configuration.pingInterval + configuration.pingTimeout
            actions.append(.schedule(.pongDeadline, in: configuration.pingInterval + configuration.pingTimeout))
        }
    }

    /// A timer fired.
    mutating func timerFired(_ timer: Timer, now: NIODeadline) -> [Action] {
        guard !isClosed else { return [] }
        switch timer {
        case .heartbeat:
            var actions: [Action] = []
            enqueue(.control(.ping), into: &actions)
            guard !isClosed else { return actions }
            // counted from when the ping was due, not from when a busy loop got to it
            let due = (heartbeatDueAt ?? now) + configuration.pingTimeout
            heartbeatDueAt = nil
            pongDueAt = due
            actions.append(.schedule(.pongDeadline, in: max(due - now, .zero)))
            return actions
        case .pongDeadline:
            return close(reason: .pingTimeout)
        case .upgrade:
            guard case .polling(let poll, let probe?) = state else { return [] }
            state = .polling(poll: poll, probe: nil)
            return [.closeTransport(probe.transport, code: .policyViolation)]
        case .pausedPollRelease:
            guard case .polling(let poll?, let probe) = state else { return [] }
            state = .polling(poll: nil, probe: probe)
            return [.answerPendingPoll([.control(.noop)], supportsBinary: poll.supportsBinary)]
        }
    }

    // MARK: - Closing

    /// Ends the session. The client is told (a close packet) unless it closed first or `notifyClient` is false (as
    /// if the network failed: official clients then reconnect).
    mutating func close(reason: EngineIOCloseReason, notifyClient: Bool? = nil) -> [Action] {
        let tellClient = notifyClient ?? (reason != .transportClose && reason != .clientClose)
        var actions: [Action] = [.cancelAllTimers]
        switch state {
        case .closed:
            return []
        case .polling(let poll, let probe):
            if let poll {
                if reason == .clientClose {
                    actions.append(.answerPendingPoll([.control(.noop)], supportsBinary: poll.supportsBinary))
                } else if tellClient {
                    actions.append(.answerPendingPoll([.control(.close)], supportsBinary: poll.supportsBinary))
                } else {
                    actions.append(.failPendingPoll)
                }
            }
            if let probe {
                // Closing a probe makes a client that already paused polling wait forever (engine.io-client ignores
                // the failed probe but stays paused). Let it send `5` and switch, then cut it (`received`), or cut
                // it after the upgrade timeout.
                actions.append(.abortTransport(probe.transport, after: configuration.upgradeTimeout))
            }
        case .webSocket(let transport, _):
            if tellClient {
                actions.append(.write(.control(.close), to: transport))
                actions.append(
                    .closeTransport(transport, code: reason == .serverShuttingDown ? .goingAway : .normalClosure)
                )
            } else {
                actions.append(.abortTransport(transport, after: nil))
            }
        }
        state = .closed
        queue.removeAll()
        queuedBytes = 0
        actions.append(.closed(reason))
        return actions
    }
}
