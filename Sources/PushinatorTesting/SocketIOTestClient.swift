import EngineIO
public import HTTPTypes
public import PushinatorJSON
public import PushinatorSocketIO
import NIOCore
import Synchronization

/// A small Socket.IO v5 client (Engine.IO v4 underneath) for tests of a namespace, in Swift and without Python.
///
/// One client is one socket on one namespace, like `io("/chat")` in the official client. Every wait is bounded.
///
/// ```swift
/// try await router.test(.live()) { http in
///     let alice = try await SocketIOTestClient.connect(to: http, namespace: "/chat", auth: ["token": "a"])
///     defer { Task { await alice.close() } }
///     let reply = try await alice.emitWithAck("message", ["hello"])       // the handler's ack
///     let pushed = try await alice.nextEvent(timeout: .seconds(2))          // an event the server emitted
///     #expect(pushed.name == "joined")
/// }
/// ```
///
/// It speaks the polling handshake, the upgrade to WebSocket and WebSocket-only, CONNECT with auth (a refusal
/// throws ``SocketIOTestError/connectRefused(message:data:)``), events and acknowledgements both ways, binary
/// attachments (``PushinatorJSON/JSONValue/binary(_:)`` values anywhere in the arguments) and disconnection.
/// The packets are encoded and decoded by the server's own codecs (``PushinatorSocketIO/SocketIOPacket``,
/// ``PushinatorSocketIO/SocketIOPacketDecoder``, ``EngineIO/EngineIOPacket``).
public final class SocketIOTestClient: Sendable {
    private struct State {
        var decoder = SocketIOPacketDecoder()
        var sid: String?
        var nextAckID = 0
        var acks: [Int: TestInbox<[JSONValue]>] = [:]
        var disconnectReason: String?
    }

    /// The namespace this socket is connected to.
    public let namespace: String
    /// How long waits take at most when no timeout is given.
    public let timeout: Duration
    private let engine: EngineIOTestConnection
    private let state = Mutex(State())
    private let events = TestInbox<SocketIOTestEvent>()
    private let connectResult = TestInbox<Result<String, SocketIOTestError>>(limit: 4)
    private let disconnection = TestInbox<String>(limit: 1)

    private init(namespace: String, timeout: Duration, engine: EngineIOTestConnection) {
        self.namespace = namespace
        self.timeout = timeout
        self.engine = engine
    }

    // MARK: Connecting

    /// Connects a socket to `namespace` of the server behind `client`.
    /// - Parameters:
    ///   - client: the test client of ``PushinatorHTTP/HTTPResponder/test(_:logger:_:)``: in process the socket
    ///     polls the responder directly; with `.live()` it connects over 127.0.0.1.
    ///   - path: where Socket.IO is mounted, `/socket.io/` by default.
    ///   - namespace: the namespace, `/` by default.
    ///   - auth: the CONNECT packet's payload (`handshake.auth` on the server); must be an object or `nil`.
    ///   - transport: `nil` chooses as the official clients do: polling then WebSocket on a live server, polling
    ///     in process.
    ///   - query: extra query items of the handshake.
    ///   - headers: extra header fields of the handshake and of every polling request.
    ///   - timeout: how long each step may take, and the default wait of the returned client.
    /// - Returns: the connected client.
    /// - Throws: ``SocketIOTestError/connectRefused(message:data:)`` when connect middleware refuses,
    ///   ``SocketIOTestError/httpStatus(_:_:)`` when the handshake is refused, ``SocketIOTestError/timeout(_:)``.
    public static func connect(
        to client: any TestClient,
        path: String = "/socket.io/",
        namespace: String = "/",
        auth: JSONValue? = nil,
        transport: SocketIOTestTransport? = nil,
        query: [String: String] = [:],
        headers: HTTPFields = [:],
        timeout: Duration = .seconds(5)
    ) async throws -> SocketIOTestClient {
        let live = client as? LiveServerClient
        let endpoint = EngineIOTestConnection.Endpoint(
            http: client,
            host: live?.host,
            port: live?.port,
            path: path.hasSuffix("/") ? path : path + "/",
            query: query.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) },
            headers: headers,
            maxMessageSize: 100 << 20
        )
        let client = SocketIOTestClient(
            namespace: namespace.hasPrefix("/") ? namespace : "/" + namespace,
            timeout: timeout,
            engine: EngineIOTestConnection(endpoint: endpoint)
        )
        try await client.start(auth: auth, transport: transport ?? (live == nil ? .polling : .pollingThenWebSocket))
        return client
    }

    /// Connects a socket to `namespace` of a server already listening on `host:port` (an app under test).
    /// - Parameters:
    ///   - host: the server's address, `127.0.0.1` by default.
    ///   - port: the server's port.
    ///   - path: where Socket.IO is mounted, `/socket.io/` by default.
    ///   - namespace: the namespace, `/` by default.
    ///   - auth: the CONNECT packet's payload; an object or `nil`.
    ///   - transport: polling then WebSocket by default, as the official clients.
    ///   - query: extra query items of the handshake.
    ///   - headers: extra header fields of the handshake and of every polling request.
    ///   - timeout: how long each step may take, and the default wait of the returned client.
    /// - Returns: the connected client.
    public static func connect(
        host: String = "127.0.0.1",
        port: Int,
        path: String = "/socket.io/",
        namespace: String = "/",
        auth: JSONValue? = nil,
        transport: SocketIOTestTransport = .pollingThenWebSocket,
        query: [String: String] = [:],
        headers: HTTPFields = [:],
        timeout: Duration = .seconds(5)
    ) async throws -> SocketIOTestClient {
        try await connect(
            to: LiveServerClient(host: host, port: port),
            path: path,
            namespace: namespace,
            auth: auth,
            transport: transport,
            query: query,
            headers: headers,
            timeout: timeout
        )
    }

    private func start(auth: JSONValue?, transport: SocketIOTestTransport) async throws {
        try await engine.open(
            transport: transport,
            timeout: timeout,
            onMessage: { [weak self] packet in self?.receive(packet) },
            onClose: { [weak self] reason in self?.ended(reason: reason) }
        )
        do {
            try await send(SocketIOPacket(type: .connect, namespace: namespace, data: auth))
            switch try await connectResult.next(timeout: timeout, "the answer to CONNECT \(namespace)") {
            case .success(let sid): state.withLock { $0.sid = sid }
            case .failure(let error): throw error
            }
        } catch {
            await engine.close()
            throw error
        }
    }

    /// The socket's id (`socket.id` on the server).
    public var id: String { state.withLock { $0.sid ?? "" } }

    /// The Engine.IO session id.
    public var engineID: String { engine.sid ?? "" }

    /// Whether the session runs over WebSocket (after the upgrade, or from the start).
    public var isWebSocket: Bool { engine.isWebSocket }

    // MARK: Sending

    /// Emits an event.
    /// - Parameters:
    ///   - event: the event name.
    ///   - arguments: the arguments; ``PushinatorJSON/JSONValue/binary(_:)`` values travel as attachments.
    public func emit(_ event: String, _ arguments: [JSONValue]) async throws {
        try await send(.event(event, arguments, namespace: namespace))
    }

    /// Emits an event.
    /// - Parameters:
    ///   - event: the event name.
    ///   - arguments: the arguments.
    public func emit(_ event: String, _ arguments: JSONValue...) async throws {
        try await emit(event, arguments)
    }

    /// Emits an event and waits for the server's acknowledgement.
    /// - Parameters:
    ///   - event: the event name.
    ///   - arguments: the arguments.
    ///   - timeout: how long to wait for the acknowledgement; the client's timeout by default.
    /// - Returns: the acknowledgement's arguments.
    /// - Throws: ``SocketIOTestError/timeout(_:)`` without an answer in time, ``SocketIOTestError/disconnected(reason:)``.
    public func emitWithAck(_ event: String, _ arguments: [JSONValue], timeout: Duration? = nil) async throws -> [JSONValue] {
        let answer = TestInbox<[JSONValue]>(limit: 1)
        let ackID = try state.withLock { state in
            if let reason = state.disconnectReason { throw SocketIOTestError.disconnected(reason: reason) }
            let ackID = state.nextAckID
            state.nextAckID += 1
            state.acks[ackID] = answer
            return ackID
        }
        defer { _ = state.withLock { $0.acks.removeValue(forKey: ackID) } }
        try await send(.event(event, arguments, namespace: namespace, ackID: ackID))
        return try await answer.next(timeout: timeout ?? self.timeout, "the ack of \(event) (id \(ackID))")
    }

    /// Answers an event the server emitted with an acknowledgement request.
    /// - Parameters:
    ///   - event: the event (its ``SocketIOTestEvent/ackID`` must be set).
    ///   - arguments: the answer.
    public func ack(_ event: SocketIOTestEvent, _ arguments: [JSONValue]) async throws {
        guard let ackID = event.ackID else {
            throw SocketIOTestError.protocolViolation("event \(event.name) did not ask for an acknowledgement")
        }
        try await send(.ack(ackID, arguments, namespace: namespace))
    }

    /// Sends any packet (a malformed or unusual one, for tests of the server's answers).
    /// - Parameter packet: the packet; its binary values travel as attachments.
    /// - Throws: ``SocketIOTestError/disconnected(reason:)`` once the socket is disconnected.
    public func send(_ packet: SocketIOPacket) async throws {
        if let reason = state.withLock({ $0.disconnectReason }) { throw SocketIOTestError.disconnected(reason: reason) }
        var text = ByteBuffer()
        let attachments = packet.encode(into: &text)
        var packets = [EngineIOPacket.message(text: text)]
        for attachment in attachments { packets.append(.message(binary: attachment)) }
        try await engine.send(packets)
    }

    // MARK: Receiving

    /// The next event from the server, in arrival order.
    /// - Parameter timeout: how long to wait; the client's timeout by default.
    /// - Throws: ``SocketIOTestError/timeout(_:)``, or ``SocketIOTestError/disconnected(reason:)`` once the socket
    ///   is disconnected and every event received before is read.
    public func nextEvent(timeout: Duration? = nil) async throws -> SocketIOTestEvent {
        try await events.next(timeout: timeout ?? self.timeout, "an event on \(namespace)")
    }

    /// The next event called `name`, skipping other events.
    /// - Parameters:
    ///   - name: the event name.
    ///   - timeout: how long to wait in all; the client's timeout by default.
    public func nextEvent(named name: String, timeout: Duration? = nil) async throws -> SocketIOTestEvent {
        let deadline = ContinuousClock.now + (timeout ?? self.timeout)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw SocketIOTestError.timeout("timed out waiting for event \(name)") }
            let event = try await events.next(timeout: left, "event \(name) on \(namespace)")
            if event.name == name { return event }
        }
    }

    /// The next `count` events, in arrival order.
    /// - Parameters:
    ///   - count: how many events to read.
    ///   - timeout: how long to wait for each; the client's timeout by default.
    public func nextEvents(_ count: Int, timeout: Duration? = nil) async throws -> [SocketIOTestEvent] {
        var received: [SocketIOTestEvent] = []
        for _ in 0..<count { received.append(try await nextEvent(timeout: timeout)) }
        return received
    }

    /// The number of events received and not read yet.
    public var unreadEventCount: Int { events.count }

    /// Waits until the socket is disconnected (by the server, the transport or ``disconnect()``), skipping
    /// unread events.
    /// - Parameter timeout: how long to wait; the client's timeout by default.
    /// - Returns: the reason, as the official clients name it: `io server disconnect`, `transport close`,
    ///   `io client disconnect`, `parse error`.
    @discardableResult
    public func disconnected(timeout: Duration? = nil) async throws -> String {
        try await disconnection.next(timeout: timeout ?? self.timeout, "\(namespace) to disconnect")
    }

    private func receive(_ message: EngineIOPacket) {
        let result = state.withLock { state in
            Result { () throws(SocketIOParseError) in
                message.isBinary ? try state.decoder.decode(binary: message.bytes) : try state.decoder.decode(text: message.bytes)
            }
        }
        let packet: SocketIOPacket
        switch result {
        case .success(let decoded?): packet = decoded
        case .success(nil): return
        case .failure:
            ended(reason: "parse error")
            Task { await engine.close() }
            return
        }
        guard packet.namespace == namespace else { return }
        switch packet.type {
        case .connect:
            guard let sid = packet.data?.object?["sid"]?.string else {
                connectResult.push(.failure(.protocolViolation("CONNECT without a sid")))
                return
            }
            connectResult.push(.success(sid))
        case .connectError:
            let message = packet.data?.object?["message"]?.string ?? packet.data?.string ?? ""
            connectResult.push(.failure(.connectRefused(message: message, data: packet.data?.object?["data"])))
        case .event, .binaryEvent:
            events.push(SocketIOTestEvent(name: packet.eventName ?? "", arguments: packet.arguments, ackID: packet.ackID))
        case .ack, .binaryAck:
            guard let ackID = packet.ackID else { return }
            state.withLock { $0.acks[ackID] }?.push(packet.arguments)
        case .disconnect:
            ended(reason: "io server disconnect")
            Task { await engine.close() }
        }
    }

    private func ended(reason: String) {
        let acks: [TestInbox<[JSONValue]>]? = state.withLock { state in
            guard state.disconnectReason == nil else { return nil }
            state.disconnectReason = reason
            return Array(state.acks.values)
        }
        guard let acks else { return }
        let error = SocketIOTestError.disconnected(reason: reason)
        for ack in acks { ack.finish(throwing: error) }
        events.finish(throwing: error)
        connectResult.finish(throwing: error)
        disconnection.push(reason)
    }

    // MARK: Closing

    /// Leaves the namespace (a DISCONNECT packet) and closes the Engine.IO session.
    public func disconnect() async {
        if state.withLock({ $0.disconnectReason == nil }) {
            try? await send(SocketIOPacket(type: .disconnect, namespace: namespace))
        }
        ended(reason: "io client disconnect")
        await engine.close()
    }

    /// Closes the Engine.IO session without a DISCONNECT packet (as when a browser tab goes away).
    public func close() async {
        ended(reason: "io client disconnect")
        await engine.close()
    }
}
