import EngineIO
import NIOCore
import PushinatorJSON

/// The protocol logic of one Socket.IO connection, without I/O: namespace connects and their timeout, middleware
/// outcomes, CONNECT_ERROR, acknowledgements, binary reassembly and its limits, disconnects and their reasons.
///
/// Each event is a `mutating func` that returns what to do; ``SocketIOConnection`` carries the actions out (sends
/// packets through the Engine.IO connection, runs namespace handlers, runs timers). `Socket` is the socket type
/// (``Socket`` in the server, any class in tests); sockets are compared by identity.
struct SocketIOConnectionStateMachine<Socket: AnyObject> {
    /// The settings the protocol logic needs.
    struct Configuration {
        /// The client speaks Socket.IO protocol v4 (socket.io 2.x over Engine.IO v3): it is connected to `/`
        /// without asking, sends no `auth` payload and expects CONNECT answers without one.
        var isLegacyProtocol: Bool
        /// How long the client may stay without any namespace.
        var connectTimeout: TimeAmount
        /// The decoder limits (attachments per packet, bytes of one unfinished binary packet).
        var decoder: SocketIOPacketDecoder.Configuration
        /// How long an unfinished binary packet may wait for its attachments.
        var binaryReassemblyTimeout: TimeAmount
    }

    /// The connection's timers; scheduling one replaces the pending timer of the same name.
    enum Timer: Hashable, CaseIterable {
        /// No namespace was joined in time.
        case connect
        /// The attachments of a binary packet did not all arrive in time.
        case binaryReassembly
    }

    /// Why the connection refuses its client, for the log.
    enum Refusal {
        /// A packet could not be decoded.
        case invalidPacket(SocketIOParseError)
        /// The client sent CONNECT_ERROR, which only servers send.
        case connectErrorFromClient
        /// An unfinished binary packet outgrew the per-connection limit.
        case partialBinaryTooLarge(limit: Int)
        /// The server-wide budget for unfinished binary packets is spent.
        case partialBinaryBudgetSpent(limit: Int)
        /// The attachments of a binary packet did not arrive in time.
        case partialBinaryTimedOut
        /// No namespace was joined within the connect timeout.
        case noNamespaceInTime
    }

    /// What the connection does in answer to an event, in order.
    /// The CONNECT packet that answers a namespace connect: `{"sid":...}` as its data, none for Socket.IO v2
    /// clients (Engine.IO v3). Kept as its parts, no `JSONValue` object: the connection writes it straight into
    /// its buffer (``SocketIOWire/connectAnswer(namespace:sid:pid:)``), once per connect.
    struct ConnectAnswer {
        var namespace: String
        var sid: String?

        /// The packet, as the generic encoder takes it (tests, Socket.IO v2).
        var packet: SocketIOPacket {
            SocketIOPacket(type: .connect, namespace: namespace, data: sid.map { ["sid": .string($0)] })
        }
    }

    enum Action {
        /// Look the namespace up and run its connect middleware with this `auth` payload; report the outcome with
        /// ``connectAccepted(namespace:socket:socketID:)`` or ``connectRefused(namespace:data:)``.
        case connect(namespace: String, auth: JSONValue)
        /// Send a packet to the client.
        case send(SocketIOPacket)
        /// The socket joined its namespace: add it to the namespace, then send `answer` (CONNECT) and run the
        /// connection handlers.
        case accept(Socket, answer: ConnectAnswer)
        /// Run the namespace's handlers for an EVENT or BINARY_EVENT (its ack id, if any, answers once).
        case dispatch(Socket, SocketIOPacket)
        /// An ACK from the client for the socket's `emitWithAck`.
        case resolveAck(Socket, id: Int, arguments: [JSONValue])
        /// The socket left its namespace: remove it and run the disconnect handlers with this reason.
        case remove(Socket, DisconnectReason)
        /// Start a timer (replacing a pending one of the same name); when it fires call ``timerFired(_:)``.
        case schedule(Timer, in: TimeAmount)
        /// Stop a timer.
        case cancel(Timer)
        /// Log why the client is refused (at info level).
        case log(Refusal)
        /// Close the Engine.IO connection (the client is told).
        case closeConnection(EngineIOCloseReason)
        /// Close the Engine.IO connection without a word, as if the network failed (clients reconnect).
        case abortConnection
    }

    /// What an inbound message asks for; an event (the common case) needs no array.
    enum ReceiveAction {
        /// Nothing (an attachment of an unfinished packet, a packet for a namespace the client is not in).
        case none
        /// ``Action/dispatch(_:_:)``.
        case dispatch(Socket, SocketIOPacket)
        /// Carry out these actions.
        case actions([Action])
    }

    /// A namespace the client asked for.
    enum Membership {
        /// Its middleware is running.
        case connecting
        /// Joined.
        case connected(Socket)
    }

    let configuration: Configuration
    private let budget: PartialBinaryBudget
    private var decoder: SocketIOPacketDecoder
    /// The namespaces the client joined or is joining, by name.
    private(set) var namespaces: SmallDictionary<String, Membership> = [:]
    /// The bytes of the unfinished binary packet charged to ``budget``.
    private var chargedBytes = 0
    private(set) var isClosed = false

    /// Creates the machine of a new connection.
    /// - Parameters:
    ///   - configuration: The limits and timeouts.
    ///   - budget: The server-wide budget the attachments of unfinished binary packets are charged to.
    init(configuration: Configuration, budget: PartialBinaryBudget) {
        self.configuration = configuration
        self.budget = budget
        self.decoder = SocketIOPacketDecoder(configuration: configuration.decoder)
    }

    /// The sockets joined, by namespace name.
    var connectedSockets: [String: Socket] {
        var sockets: [String: Socket] = [:]
        for (name, membership) in namespaces {
            if case .connected(let socket) = membership { sockets[name] = socket }
        }
        return sockets
    }

    /// The bytes of the unfinished binary packet (charged to the server-wide budget).
    var pendingBinaryBytes: Int { chargedBytes }

    // MARK: - Start

    /// The Engine.IO connection opened: the connect timeout starts (legacy clients are connected to `/` at once).
    mutating func started() -> [Action] {
        var actions: [Action] = []
        if configuration.isLegacyProtocol {
            namespaces["/"] = .connecting
            actions.append(.connect(namespace: "/", auth: .object([:])))
        }
        actions.append(.schedule(.connect, in: configuration.connectTimeout))
        return actions
    }

    // MARK: - Inbound

    /// A text message arrived (after the Engine.IO `4`).
    mutating func received(text: ByteBuffer) -> ReceiveAction {
        guard !isClosed else { return .none }
        let packet: SocketIOPacket?
        do {
            packet = try decoder.decode(text: text)
        } catch {
            return .actions(refuse(.invalidPacket(error)))
        }
        guard let packet else {
            // a binary packet whose attachments are to come
            return .actions([.schedule(.binaryReassembly, in: configuration.binaryReassemblyTimeout)])
        }
        return handle(packet)
    }

    /// A binary message arrived: the next attachment of the unfinished binary packet.
    mutating func received(binary: ByteBuffer) -> ReceiveAction {
        guard !isClosed else { return .none }
        if decoder.isAwaitingAttachments {
            let size = binary.readableBytes
            guard chargedBytes + size <= configuration.decoder.maxPendingAttachmentBytes else {
                return .actions(refuse(.partialBinaryTooLarge(limit: configuration.decoder.maxPendingAttachmentBytes)))
            }
            guard budget.reserve(size) else {
                return .actions(refuse(.partialBinaryBudgetSpent(limit: budget.limit)))
            }
            chargedBytes += size
        }
        let packet: SocketIOPacket?
        do {
            packet = try decoder.decode(binary: binary)
        } catch {
            return .actions(refuse(.invalidPacket(error)))
        }
        guard let packet else { return .none }
        releaseCharge()
        var actions: [Action] = [.cancel(.binaryReassembly)]
        switch handle(packet) {
        case .none: break
        case .dispatch(let socket, let packet): actions.append(.dispatch(socket, packet))
        case .actions(let more): actions.append(contentsOf: more)
        }
        return .actions(actions)
    }

    private mutating func handle(_ packet: SocketIOPacket) -> ReceiveAction {
        switch packet.type {
        case .connect:
            var namespace = packet.namespace
            if configuration.isLegacyProtocol, let query = namespace.firstIndex(of: "?") {
                namespace = String(namespace[..<query])  // v4 clients put the query on the namespace
            }
            guard namespaces[namespace] == nil else { return .none }
            namespaces[namespace] = .connecting
            return .actions([.connect(namespace: namespace, auth: packet.data ?? .object([:]))])
        case .disconnect:
            guard case .connected(let socket) = namespaces[packet.namespace] else { return .none }
            namespaces[packet.namespace] = nil
            return .actions([.remove(socket, .clientNamespaceDisconnect)])
        case .event, .binaryEvent:
            guard case .connected(let socket) = namespaces[packet.namespace], packet.eventName != nil else {
                return .none
            }
            return .dispatch(socket, packet)
        case .ack, .binaryAck:
            guard case .connected(let socket) = namespaces[packet.namespace], let id = packet.ackID else { return .none }
            return .actions([.resolveAck(socket, id: id, arguments: packet.arguments)])
        case .connectError:
            return .actions(refuse(.connectErrorFromClient))
        }
    }

    // MARK: - Connecting

    /// The namespace's middleware let the socket in (or it has none).
    /// - Parameters:
    ///   - namespace: The namespace name, as in ``Action/connect(namespace:auth:)``.
    ///   - socket: The new socket.
    ///   - socketID: Its id, for the CONNECT answer.
    mutating func connectAccepted(namespace: String, socket: Socket, socketID: String) -> [Action] {
        guard !isClosed, case .connecting = namespaces[namespace] else { return [] }
        namespaces[namespace] = .connected(socket)
        let answer = ConnectAnswer(namespace: namespace, sid: configuration.isLegacyProtocol ? nil : socketID)
        return [.cancel(.connect), .accept(socket, answer: answer)]
    }

    /// The namespace does not exist, or its middleware refused the socket.
    /// - Parameters:
    ///   - namespace: The namespace name, as in ``Action/connect(namespace:auth:)``.
    ///   - data: The CONNECT_ERROR payload (`{"message": ...}`).
    mutating func connectRefused(namespace: String, data: JSONValue) -> [Action] {
        guard !isClosed, case .connecting = namespaces[namespace] else { return [] }
        namespaces[namespace] = nil
        return [.send(SocketIOPacket(type: .connectError, namespace: namespace, data: data))]
    }

    // MARK: - Disconnecting

    /// The server disconnects `socket` from `namespace` (the client gets DISCONNECT); with `closeConnection` the
    /// whole connection closes afterwards.
    mutating func disconnect(_ socket: Socket, from namespace: String, closeConnection: Bool) -> [Action] {
        var actions: [Action] = []
        if case .connected(let current) = namespaces[namespace], current === socket {
            namespaces[namespace] = nil
            actions.append(.send(SocketIOPacket(type: .disconnect, namespace: namespace)))
            actions.append(.remove(socket, .serverNamespaceDisconnect))
        }
        if closeConnection {
            removeAll(reason: .serverNamespaceDisconnect, into: &actions)
            actions.append(.closeConnection(.forcedClose))
        }
        return actions
    }

    /// The server drops the connection without a DISCONNECT packet: clients see "transport close" and reconnect.
    mutating func dropConnection() -> [Action] {
        var actions: [Action] = []
        removeAll(reason: .transport("forced close"), into: &actions)
        actions.append(.abortConnection)
        return actions
    }

    /// The Engine.IO connection ended.
    mutating func connectionClosed(reason: EngineIOCloseReason) -> [Action] {
        guard !isClosed else { return [] }
        isClosed = true
        var actions: [Action] = [.cancel(.connect), .cancel(.binaryReassembly)]
        decoder.reset()
        releaseCharge()
        removeAll(reason: .transport(reason.text), into: &actions)
        namespaces = [:]
        return actions
    }

    /// A timer fired.
    mutating func timerFired(_ timer: Timer) -> [Action] {
        guard !isClosed else { return [] }
        switch timer {
        case .connect:
            guard !namespaces.contains(where: { if case .connected = $0.value { true } else { false } }) else { return [] }
            return [.log(.noNamespaceInTime), .closeConnection(.forcedClose)]
        case .binaryReassembly:
            guard decoder.isAwaitingAttachments else { return [] }
            return refuse(.partialBinaryTimedOut)
        }
    }

    /// The client broke the protocol: every socket leaves with "parse error" and the connection closes.
    private mutating func refuse(_ refusal: Refusal) -> [Action] {
        decoder.reset()
        releaseCharge()
        var actions: [Action] = [.cancel(.binaryReassembly), .log(refusal)]
        removeAll(reason: .parseError, into: &actions)
        actions.append(.closeConnection(.transportError))
        return actions
    }

    private mutating func removeAll(reason: DisconnectReason, into actions: inout [Action]) {
        for (name, membership) in namespaces {
            guard case .connected(let socket) = membership else { continue }
            namespaces[name] = nil
            actions.append(.remove(socket, reason))
        }
    }

    private mutating func releaseCharge() {
        guard chargedBytes > 0 else { return }
        budget.release(chargedBytes)
        chargedBytes = 0
    }
}
