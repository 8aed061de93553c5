import EngineIO
import HTTPTypes
import PushinatorHTTP
import Logging
import NIOCore
import PushinatorJSON
import Synchronization

/// The Socket.IO side of one Engine.IO session: decodes packets and routes them to the sockets of each
/// namespace. All state is touched on the session's event loop.
final class SocketIOConnection: EngineIOSessionDelegate, @unchecked Sendable {
    let session: EngineIOSession
    let server: SocketIOServer
    private let logger: Logger
    private var decoder: SocketIOPacketDecoder
    private var sockets: [String: Socket] = [:]
    private var connecting: Set<String> = []
    private var connectTimer: LoopTimers.Timer?
    private var closed = false

    init(session: EngineIOSession, server: SocketIOServer, logger: Logger) {
        self.session = session
        self.server = server
        self.logger = logger
        self.decoder = SocketIOPacketDecoder(configuration: .init(maxAttachments: server.configuration.maxAttachments))
    }

    /// Whether the client speaks Socket.IO protocol v4 (socket.io 2.x over Engine.IO v3): it is connected to `/`
    /// without asking, sends no `auth` payload and expects CONNECT answers without one.
    private var isLegacyProtocol: Bool { session.version == .v3 }

    /// Starts the connect timeout: a client that joins no namespace in time is closed.
    func start() {
        if isLegacyProtocol {
            connect(to: "/", auth: .object([:]))
        }
        let timeout = server.configuration.connectTimeout
        // Strong on purpose (cancelled on connect and on close): a weak capture would give every client a
        // weak-reference side table, which makes each retain on the broadcast path slower.
        connectTimer = LoopTimers.on(session.eventLoop).schedule(in: TimeAmount(timeout)) { [self] in
            guard self.sockets.isEmpty else { return }
            self.logger.debug("no namespace joined in time", metadata: ["eio.sid": "\(self.session.id)"])
            self.session.close(reason: .forcedClose)
        }
    }

    // MARK: Inbound

    func session(_ session: EngineIOSession, didReceive message: EngineIOMessage) {
        let packet: SocketIOPacket?
        do {
            switch message {
            case .text(let text): packet = try decoder.decode(text: text)
            case .binary(let bytes): packet = try decoder.decode(binary: bytes)
            }
        } catch {
            logger.info(
                "closing a client that sent an invalid packet",
                metadata: ["eio.sid": "\(session.id)", "error.message": "\(error)"]
            )
            closeAll(reason: .parseError)
            session.close(reason: .transportError)
            return
        }
        guard let packet else { return }  // waiting for binary attachments
        handle(packet)
    }

    /// What event, middleware and connection handlers prefer to run on: the session's event loop when this runs
    /// there (always, for packets), so a handler that awaits resumes on the loop instead of the global pool.
    private var loopExecutor: EventLoopTaskExecutor? { EventLoopTaskExecutor.preferred(for: session.eventLoop) }

    private func handle(_ packet: SocketIOPacket) {
        switch packet.type {
        case .connect:
            var namespace = packet.namespace
            if isLegacyProtocol, let query = namespace.firstIndex(of: "?") {
                namespace = String(namespace[..<query])  // v4 clients put the query on the namespace
            }
            connect(to: namespace, auth: packet.data ?? .object([:]))
        case .disconnect:
            if let socket = sockets[packet.namespace] {
                remove(socket, reason: .clientNamespaceDisconnect, notifyClient: false)
            }
        case .event, .binaryEvent:
            guard let socket = sockets[packet.namespace], let name = packet.eventName else { return }
            let acknowledge: (@Sendable ([JSONValue]) -> Void)? = packet.ackID.map { id in
                let once = AckOnce()
                let session = self.session
                let namespace = packet.namespace
                return { arguments in
                    guard once.claim() else { return }
                    session.send(SocketIOWire.encode(.ack(id, arguments, namespace: namespace)))
                }
            }
            let event = SocketIOEvent(name: name, arguments: packet.arguments, acknowledge: acknowledge)
            let namespace = socket.namespace
            Task.immediate(executorPreference: loopExecutor) { await namespace.dispatch(event, from: socket) }
        case .ack, .binaryAck:
            guard let socket = sockets[packet.namespace], let id = packet.ackID else { return }
            socket.resolveAck(id, with: .success(packet.arguments))
        case .connectError:
            closeAll(reason: .parseError)
            session.close(reason: .transportError)
        }
    }

    // MARK: Connecting

    private func connect(to name: String, auth: JSONValue) {
        guard sockets[name] == nil, !connecting.contains(name) else { return }
        guard let namespace = server.namespace(forConnectionTo: name, auth: auth) else {
            session.send(SocketIOWire.encode(SocketIOPacket(type: .connectError, namespace: name, data: ["message": "Invalid namespace"])))
            return
        }
        let handshake = SocketHandshake(
            auth: auth,
            headers: session.handshake.headers,
            query: session.handshake.query,
            address: session.remoteAddress,
            time: .now,
            isSecure: session.handshake.head.scheme == "https"
        )
        let socket = Socket(id: RandomIdentifier.make(), namespace: namespace, handshake: handshake, client: self)
        let middleware = namespace.middleware
        guard !middleware.isEmpty else {
            accept(socket)
            return
        }
        connecting.insert(name)
        let eventLoop = session.eventLoop
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
                self.connecting.remove(name)
                if let outcome {
                    self.session.send(SocketIOWire.encode(SocketIOPacket(type: .connectError, namespace: name, data: outcome.payload)))
                } else {
                    self.accept(socket)
                }
            }
        }
    }

    private func accept(_ socket: Socket) {
        guard !closed else { return }
        connectTimer?.cancel()
        connectTimer = nil
        sockets[socket.namespace.name] = socket
        socket.markConnected(true)
        socket.namespace.adapter.add(socket)
        let answer: JSONValue? = isLegacyProtocol ? nil : ["sid": .string(socket.id)]
        session.send(SocketIOWire.encode(SocketIOPacket(type: .connect, namespace: socket.namespace.name, data: answer)))
        socket.namespace.logger.debug("socket connected", metadata: ["sio.sid": "\(socket.id)", "eio.sid": "\(session.id)"])
        let namespace = socket.namespace
        Task.immediate(executorPreference: loopExecutor) { await namespace.runConnectionHandlers(socket) }
    }

    // MARK: Disconnecting

    /// Disconnects `socket` (from any thread); with `closeConnection` the whole connection closes afterwards.
    func disconnect(_ socket: Socket, closeConnection: Bool) {
        guard session.eventLoop.inEventLoop else {
            session.eventLoop.execute { self.disconnect(socket, closeConnection: closeConnection) }
            return
        }
        if sockets[socket.namespace.name] === socket {
            remove(socket, reason: .serverNamespaceDisconnect, notifyClient: true)
        }
        if closeConnection {
            closeAll(reason: .serverNamespaceDisconnect)
            session.close(reason: .forcedClose)
        }
    }

    /// Closes the connection without a DISCONNECT packet: official clients see "transport close" and reconnect.
    func dropConnection() {
        guard session.eventLoop.inEventLoop else {
            session.eventLoop.execute { self.dropConnection() }
            return
        }
        closeAll(reason: .transport("forced close"))
        session.abort()
    }

    private func remove(_ socket: Socket, reason: DisconnectReason, notifyClient: Bool) {
        sockets[socket.namespace.name] = nil
        if notifyClient {
            session.send(SocketIOWire.encode(SocketIOPacket(type: .disconnect, namespace: socket.namespace.name)))
        }
        socket.namespace.adapter.remove(socket)
        socket.didDisconnect()
        socket.namespace.logger.debug(
            "socket disconnected",
            metadata: ["sio.sid": "\(socket.id)", "sio.reason": "\(reason)"]
        )
        let namespace = socket.namespace
        Task.immediate(executorPreference: loopExecutor) { await namespace.runDisconnectHandlers(socket, reason: reason) }
    }

    private func closeAll(reason: DisconnectReason) {
        for socket in Array(sockets.values) { remove(socket, reason: reason, notifyClient: false) }
    }

    func session(_ session: EngineIOSession, didCloseWith reason: EngineIOCloseReason) {
        closed = true
        connectTimer?.cancel()
        closeAll(reason: .transport(reason.text))
    }
}

/// Lets an acknowledgement be sent once, from any thread.
final class AckOnce: Sendable {
    private let claimed = Synchronization.Atomic<Bool>(false)
    func claim() -> Bool { claimed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged }
}

