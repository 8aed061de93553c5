import EngineIO
import HTTPTypes
import PushinatorEventLoop
import PushinatorHTTP
import Logging
import NIOCore
import PushinatorJSON
import Synchronization

/// The Socket.IO side of one Engine.IO connection: carries out the actions of its
/// ``SocketIOConnectionStateMachine`` (which decides everything: namespaces, acknowledgements, binary reassembly,
/// disconnects) through the ``EngineIOConnection`` and the namespaces. All state is touched on the connection's
/// event loop.
final class SocketIOConnection: EngineIOSessionDelegate, @unchecked Sendable {
    /// The Engine.IO connection this Socket.IO connection talks to; the sockets hand it to broadcasts, which write to
    /// it on its loop without a protocol call per recipient.
    let session: EngineIOSession
    /// The same connection (an `any EngineIOConnection` stored beside ``session`` took 40 bytes of every connection).
    var engine: EngineIOSession { session }
    let server: SocketIOServer
    private let logger: Logger
    /// `@exclusivity(unchecked)` (as the timers): touched on the connection's loop only, and each access ends before
    /// its actions are carried out (the machine is a value type that calls nothing back), so no two accesses can
    /// overlap; the runtime checks cost ~80 instructions each, several per packet.
    @exclusivity(unchecked) private var machine: SocketIOConnectionStateMachine<Socket>
    @exclusivity(unchecked) private var connectTimer: LoopTimers.Timer?
    @exclusivity(unchecked) private var binaryTimer: LoopTimers.Timer?

    init(session: EngineIOSession, server: SocketIOServer, logger: Logger) {
        self.session = session
        self.server = server
        self.logger = logger
        self.machine = SocketIOConnectionStateMachine(
            configuration: session.version == .v3 ? server.connectionConfiguration.v3 : server.connectionConfiguration.v4,
            budget: server.partialBinaryBudget
        )
    }

    /// Starts the connect timeout (and connects a legacy client to `/`).
    func start() {
        run(machine.started())
    }

    // MARK: Inbound

    func session(_ session: EngineIOSession, didReceive message: EngineIOMessage) {
        let outcome =
            switch message {
            case .text(let text): machine.received(text: text)
            case .binary(let bytes): machine.received(binary: bytes)
            }
        switch outcome {
        case .none: break
        case .dispatch(let socket, let packet): dispatch(packet, to: socket)
        case .actions(let actions): run(actions)
        }
    }

    func session(_ session: EngineIOSession, didCloseWith reason: EngineIOCloseReason) {
        run(machine.connectionClosed(reason: reason))
    }

    /// What event, middleware and connection handlers prefer to run on: the connection's event loop when this runs
    /// there (always, for packets), so a handler that awaits resumes on the loop instead of the global pool.
    private var loopExecutor: EventLoopTaskExecutor? { EventLoopTaskExecutor.preferred(for: engine.eventLoop) }

    // MARK: Carrying out actions

    private func run(_ actions: [SocketIOConnectionStateMachine<Socket>.Action]) {
        for action in actions { run(action) }
    }

    private func run(_ action: SocketIOConnectionStateMachine<Socket>.Action) {
        switch action {
        case .connect(let namespace, let auth):
            connect(to: namespace, auth: auth)
        case .send(let packet):
            engine.send(SocketIOWire.encode(packet))
        case .accept(let socket, let answer):
            socket.markConnected(true)
            if socket.recovered { socket.namespace.recoveredCount.wrappingAdd(1, ordering: .relaxed) }
            let missed = socket.namespace.adapter.add(socket)
            socket.namespace.track(socket)
            if let sid = answer.sid {  // {sid, pid}
                engine.send(SocketIOWire.connectAnswer(namespace: answer.namespace, sid: sid, pid: socket.pid))
            } else {  // Socket.IO v2 (Engine.IO v3): no data
                engine.send(SocketIOWire.encode(answer.packet))
            }
            if !missed.isEmpty { engine.send(missed) }  // before anything newer: this runs on the connection's loop
            socket.namespace.logger.debug(
                "socket connected",
                metadata: ["sio.sid": "\(socket.id)", "eio.sid": "\(engine.id)", "sio.recovered": "\(socket.recovered)"]
            )
            let namespace = socket.namespace
            namespace.runConnectionHandlers(socket, executor: loopExecutor)
        case .dispatch(let socket, let packet):
            dispatch(packet, to: socket)
        case .resolveAck(let socket, let id, let arguments):
            socket.resolveAck(id, with: .success(arguments))
        case .remove(let socket, let reason):
            socket.namespace.untrack(socket)
            socket.namespace.persistIfRecoverable(socket, reason: reason)
            socket.namespace.adapter.remove(socket)
            socket.didDisconnect()
            socket.namespace.logger.debug(
                "socket disconnected",
                metadata: ["sio.sid": "\(socket.id)", "sio.reason": "\(reason)"]
            )
            let namespace = socket.namespace
            namespace.runDisconnectHandlers(socket, reason: reason, executor: loopExecutor)
        case .schedule(let timer, let delay):
            // Strong on purpose (cancelled when the connection closes): a weak capture would give every client a
            // weak-reference side table, which makes each retain on the broadcast path slower.
            let scheduled = LoopTimers.on(engine.eventLoop).schedule(in: delay) { [self] in
                run(machine.timerFired(timer))
            }
            replaceTimer(timer, with: scheduled)
        case .cancel(let timer):
            replaceTimer(timer, with: nil)
        case .log(let refusal):
            log(refusal)
        case .closeConnection(let reason):
            engine.close(reason: reason)
        case .abortConnection:
            engine.abort()
        }
    }

    private func replaceTimer(_ timer: SocketIOConnectionStateMachine<Socket>.Timer, with new: LoopTimers.Timer?) {
        switch timer {
        case .connect:
            connectTimer?.cancel()
            connectTimer = new
        case .binaryReassembly:
            binaryTimer?.cancel()
            binaryTimer = new
        }
    }

    private func log(_ refusal: SocketIOConnectionStateMachine<Socket>.Refusal) {
        let sid = "\(engine.id)"
        switch refusal {
        case .invalidPacket(let error):
            logger.info("closing a client that sent an invalid packet", metadata: ["eio.sid": "\(sid)", "error.message": "\(error)"])
        case .connectErrorFromClient:
            logger.info("closing a client that sent CONNECT_ERROR", metadata: ["eio.sid": "\(sid)"])
        case .partialBinaryTooLarge(let limit):
            logger.info(
                "closing a client whose unfinished binary packet exceeds the per-connection limit",
                metadata: ["eio.sid": "\(sid)", "sio.limit_bytes": "\(limit)"]
            )
        case .partialBinaryBudgetSpent(let limit):
            logger.info(
                "closing a client: the server-wide budget for unfinished binary packets is spent",
                metadata: ["eio.sid": "\(sid)", "sio.limit_bytes": "\(limit)"]
            )
        case .partialBinaryTimedOut:
            logger.info("closing a client whose binary packet attachments did not arrive in time", metadata: ["eio.sid": "\(sid)"])
        case .noNamespaceInTime:
            logger.debug("no namespace joined in time", metadata: ["eio.sid": "\(sid)"])
        }
    }

    private func dispatch(_ packet: SocketIOPacket, to socket: Socket) {
        guard let name = packet.eventName else { return }
        let acknowledge: (@Sendable (SocketIOEvent.Answer) -> Void)? = packet.ackID.map { id in
            let once = AckOnce()
            let engine = self.engine
            let namespace = packet.namespace
            return { answer in
                guard once.claim() else { return }
                SocketIOWire.sendAck(id, answer, namespace: namespace, to: engine)
            }
        }
        let event = SocketIOEvent(name: name, arguments: packet.arguments, answer: acknowledge)
        socket.namespace.dispatch(event, from: socket, executor: loopExecutor)
    }

    // MARK: Connecting

    /// Looks the namespace up and runs its middleware; the machine learns the outcome.
    private func connect(to name: String, auth: JSONValue) {
        guard let namespace = server.namespace(forConnectionTo: name, auth: auth) else {
            run(machine.connectRefused(namespace: name, data: ["message": "Invalid namespace"]))
            return
        }
        let handshake = SocketHandshake(auth: auth, request: session.handshakeHead, address: session.remoteAddress, time: .now)
        let recovery = namespace.recoveryRequest(auth: auth, legacyProtocol: session.version == .v3)
        guard case .restore(let pid, let offset) = recovery else {
            connect(to: namespace, handshake: handshake, pid: recovery == .off ? nil : RandomIdentifier.make(), restored: nil)
            return
        }
        let eventLoop = engine.eventLoop
        Task.immediate(executorPreference: loopExecutor) {
            let restored = await namespace.restoreSession(pid: pid, offset: offset)
            if restored == nil { namespace.recoveryRefusedCount.wrappingAdd(1, ordering: .relaxed) }
            eventLoop.execute {
                self.connect(to: namespace, handshake: handshake, pid: RandomIdentifier.make(), restored: restored)
            }
        }
    }

    private func connect(to namespace: Namespace, handshake: SocketHandshake, pid: String?, restored: RestoredSession?) {
        let name = namespace.name
        let socket = Socket(
            id: RandomIdentifier.make(),
            namespace: namespace,
            handshake: handshake,
            client: self,
            pid: pid,
            restoration: restored
        )
        let middleware = namespace.skipsMiddleware(for: socket) ? [] : namespace.middleware
        guard !middleware.isEmpty else {
            accept(socket)
            return
        }
        let eventLoop = engine.eventLoop
        Task.immediate(executorPreference: loopExecutor) {
            var refusal: ConnectError?
            for step in middleware {
                do {
                    try await step(socket)
                } catch let error as ConnectError {
                    refusal = error
                    break
                } catch {
                    namespace.logger.error("connect middleware failed", metadata: ["error.message": "\(error)"])
                    refusal = ConnectError("Internal server error")
                    break
                }
            }
            let outcome = refusal
            eventLoop.execute {
                if let outcome {
                    self.run(self.machine.connectRefused(namespace: name, data: outcome.payload))
                } else {
                    self.accept(socket)
                }
            }
        }
    }

    private func accept(_ socket: Socket) {
        let actions = machine.connectAccepted(namespace: socket.namespace.name, socket: socket, socketID: socket.id)
        if actions.isEmpty { socket.namespace.persistAgain(socket) }  // closed meanwhile: keep a restored session
        run(actions)
    }

    // MARK: Disconnecting

    /// Disconnects `socket` (from any thread); with `closeConnection` the whole connection closes afterwards.
    func disconnect(_ socket: Socket, closeConnection: Bool) {
        guard engine.eventLoop.inEventLoop else {
            engine.eventLoop.execute { self.disconnect(socket, closeConnection: closeConnection) }
            return
        }
        run(machine.disconnect(socket, from: socket.namespace.name, closeConnection: closeConnection))
    }

    /// Closes the connection without a DISCONNECT packet: official clients see "transport close" and reconnect.
    func dropConnection() {
        guard engine.eventLoop.inEventLoop else {
            engine.eventLoop.execute { self.dropConnection() }
            return
        }
        run(machine.dropConnection())
    }
}
