import EngineIO
import Logging
public import NIOCore
public import PushinatorJSON
import Synchronization

/// A client's connection to one namespace.
///
/// Every method is safe to call from any task or thread.
///
/// ```swift
/// chat.onConnection { socket in
///     socket.join("lobby")
///     socket.emit("welcome", ["id": .string(socket.id)])
/// }
/// ```
public final class Socket: Sendable, CustomStringConvertible {
    /// The socket id: unique, and the name of a room that holds only this socket.
    public let id: String
    /// The namespace.
    public let namespace: Namespace
    /// What the client sent when it connected.
    public let handshake: SocketHandshake
    let client: SocketIOConnection
    /// The client's Engine.IO session (kept here too: a broadcast reaches it without touching the client).
    let session: EngineIOSession
    /// The private session id the client sends back to recover this socket; `nil` when recovery is off for it
    /// (off in the server, an Engine.IO v3 client, or `auth: {recovery: false}`). Package-visible for the interop
    /// server, whose tests play a client that keeps it.
    package let pid: String?
    /// Whether events sent to this socket carry recovery offsets.
    let receivesOffsets: Bool
    /// The session this socket took back, when it was recovered.
    var restoration: RestoredSession? { restorationBox?.value }
    /// Boxed: a restored session is rare and large (about 130 bytes inline), and every socket carried room for one.
    private let restorationBox: RestorationBox?
    private let state: Mutex<State>

    private struct State {
        var pendingAcks: [Int: @Sendable (Result<[JSONValue], AckError>) -> Void] = [:]
        /// A ``SmallDictionary``: a socket keeps a value or two (pushinator: the user and its hash), and a Swift
        /// dictionary of two took 232 bytes of every idle connection.
        var storage: SmallDictionary<ObjectIdentifier, any Sendable> = [:]
        var data: JSONValue = .null
        var connected = false
        /// The sequence number of the last broadcast recorded before the socket was added to its namespace.
        var baseSequence: UInt64 = 0
        /// The cluster recovery offset of that point, with a ``CrossNodeSessionStore``.
        var baseOffset = ""
    }

    init(
        id: String,
        namespace: Namespace,
        handshake: SocketHandshake,
        client: SocketIOConnection,
        pid: String? = nil,
        restoration: RestoredSession? = nil
    ) {
        self.id = restoration?.session.id ?? id
        self.namespace = namespace
        self.handshake = handshake
        self.client = client
        self.session = client.session
        self.pid = restoration?.session.pid ?? pid
        self.receivesOffsets = self.pid != nil
        self.restorationBox = restoration.map(RestorationBox.init)
        var state = State()
        if let restoration {
            state.data = restoration.session.data
            state.storage = SmallDictionary(restoration.session.storage.values)
        }
        self.state = Mutex(state)
    }

    public var description: String { "Socket(\(id) on \(namespace.name))" }

    /// The Engine.IO session id shared by the sockets of one client connection.
    public var engineSessionID: String { session.id }

    /// The event loop the client's connection lives on.
    public var eventLoop: any EventLoop { session.eventLoop }

    /// Whether the socket is still connected to its namespace.
    public var isConnected: Bool { state.withLock { $0.connected } }

    func markConnected(_ connected: Bool) { state.withLock { $0.connected = connected } }

    /// Whether the socket took back the id, rooms, data and missed events of a session whose connection dropped
    /// (connection state recovery); the client sees `socket.recovered === true`.
    public var recovered: Bool { restorationBox != nil }

    /// Free-form data kept with the socket, as socket.io's `socket.data`: restored with the socket by connection
    /// state recovery and shown by ``SocketIOAdapter/fetchSockets(_:)``.
    public var data: JSONValue {
        get { state.withLock { $0.data } }
        set { state.withLock { $0.data = newValue } }
    }

    func setBaseSequence(_ sequence: UInt64, offset: String = "") {
        state.withLock {
            $0.baseSequence = sequence
            $0.baseOffset = offset
        }
    }

    /// What a ``CrossNodeSessionStore`` keeps while the socket is connected.
    func sessionRecord(rooms: Set<String>, node: String, keys: [any PersistedSocketStorageKey.Type]) -> SessionRecord? {
        guard let pid else { return nil }
        let (data, storage, offset) = state.withLock { ($0.data, $0.storage, $0.baseOffset) }
        return SessionRecord(
            pid: pid,
            namespace: namespace.name,
            id: id,
            node: node,
            rooms: rooms,
            data: data,
            storage: SocketStorage(values: storage.dictionary).persisted(keys),
            baseOffset: offset
        )
    }

    /// What connection state recovery keeps when the connection drops.
    func persistedSession(rooms: Set<String>, at time: ContinuousClock.Instant) -> PersistedSession? {
        guard let pid else { return nil }
        let (data, storage, base) = state.withLock { ($0.data, $0.storage, $0.baseSequence) }
        return PersistedSession(
            id: id,
            pid: pid,
            rooms: rooms,
            data: data,
            storage: SocketStorage(values: storage.dictionary),
            baseSequence: base,
            disconnectedAt: time
        )
    }

    // MARK: Storage

    /// Typed values kept with the socket (the user it authenticated as, for example).
    ///
    /// ```swift
    /// enum UserID: SocketStorageKey { typealias Value = String }
    /// socket[UserID.self] = "5"
    /// ```
    ///
    /// Inlinable, over two non-generic accessors: the caller's module specializes it for its key (unspecialized, the
    /// `Optional<Key.Value>` metadata was looked up on every read and write, ~1k instructions each).
    @inlinable
    public subscript<Key: SocketStorageKey>(key: Key.Type) -> Key.Value? {
        get { storedValue(for: ObjectIdentifier(key)) as? Key.Value }
        set { setStoredValue(newValue, for: ObjectIdentifier(key)) }
    }

    /// The value kept under a ``SocketStorageKey`` type's identity.
    @usableFromInline
    func storedValue(for key: ObjectIdentifier) -> (any Sendable)? {
        state.withLock { $0.storage[key] }
    }

    /// Keeps (or with `nil` removes) the value under a ``SocketStorageKey`` type's identity.
    @usableFromInline
    func setStoredValue(_ value: (any Sendable)?, for key: ObjectIdentifier) {
        state.withLock { $0.storage[key] = value }
    }

    // MARK: Emitting

    /// Sends `event` with `arguments` to this client.
    public func emit(_ event: String, _ arguments: [JSONValue]) {
        let packet = SocketIOPacket.event(event, arguments, namespace: namespace.name)
        guard receivesOffsets else {
            session.send(SocketIOWire.encode(packet))
            return
        }
        // through the adapter, which buffers it with an offset for connection state recovery (as socket.io)
        _ = namespace.adapter.broadcast(packet, to: BroadcastTarget(rooms: [id]), flags: BroadcastFlags())
    }

    /// Sends `event` with `arguments` to this client.
    public func emit(_ event: String, _ arguments: JSONValue...) { emit(event, arguments) }

    /// Sends `event` with one `Encodable` argument.
    public func emit(_ event: String, encoding value: some Encodable) throws {
        emit(event, [try JSONValue(encoding: value)])
    }

    /// Sends `event` and waits for the client's acknowledgement.
    /// - Parameters:
    ///   - event: The event name.
    ///   - arguments: The arguments.
    ///   - timeout: How long to wait; the server's ``SocketIOConfiguration/ackTimeout`` by default.
    /// - Returns: The arguments the client passed to its callback.
    /// - Throws: ``AckError`` on timeout or disconnect.
    public func emitWithAck(_ event: String, _ arguments: [JSONValue], timeout: Duration? = nil) async throws -> [JSONValue] {
        let timeout = timeout ?? client.server.configuration.ackTimeout
        let id = namespace.nextAckID()
        let packets = SocketIOWire.encode(.event(event, arguments, namespace: namespace.name, ackID: id))
        let eventLoop = session.eventLoop
        return try await withCheckedThrowingContinuation { continuation in
            expectAck(id) { result in continuation.resume(with: result) }
            guard isConnected else { return }
            session.send(packets)
            eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] in
                self?.resolveAck(id, with: .failure(AckError.timeout))
            }
        }
    }

    /// Registers what to do with the answer to ack id `id`; runs it at once with ``AckError/disconnected`` when the
    /// socket is gone.
    func expectAck(_ id: Int, _ handler: @escaping @Sendable (Result<[JSONValue], AckError>) -> Void) {
        let accepted = state.withLock { state -> Bool in
            guard state.connected else { return false }
            state.pendingAcks[id] = handler
            return true
        }
        if !accepted { handler(.failure(.disconnected)) }
    }

    /// Forgets ack id `id` without running its handler (its collector gave up waiting).
    func forgetAck(_ id: Int) { _ = state.withLock { $0.pendingAcks.removeValue(forKey: id) } }

    func resolveAck(_ id: Int, with result: Result<[JSONValue], AckError>) {
        let handler = state.withLock { $0.pendingAcks.removeValue(forKey: id) }
        handler?(result)
    }

    // MARK: Rooms

    /// Puts the socket in `rooms`.
    public func join(_ rooms: String...) { namespace.adapter.join(self, rooms: rooms) }

    /// Puts the socket in `rooms`.
    public func join(_ rooms: [String]) { namespace.adapter.join(self, rooms: rooms) }

    /// Takes the socket out of `room`.
    public func leave(_ room: String) { namespace.adapter.leave(self, room: room) }

    /// The rooms the socket is in (its own id included).
    public var rooms: Set<String> { namespace.adapter.rooms(of: self) }

    /// A broadcast to `rooms` that leaves out this socket.
    public func to(_ rooms: String...) -> BroadcastOperator {
        BroadcastOperator(namespace: namespace, target: BroadcastTarget(rooms: Set(rooms), except: [id]))
    }

    /// A broadcast to the whole namespace that leaves out this socket.
    public var broadcast: BroadcastOperator {
        BroadcastOperator(namespace: namespace, target: BroadcastTarget(except: [id]))
    }

    // MARK: Disconnecting

    /// Disconnects the socket from its namespace (the client receives a DISCONNECT packet).
    /// - Parameter close: Also close the underlying connection, which ends the client's other namespaces too.
    public func disconnect(close: Bool = false) {
        client.disconnect(self, closeConnection: close)
    }

    /// Closes the client's connection without saying goodbye; official clients reconnect by themselves.
    ///
    /// Use it to move clients to another server instance, or to test reconnection.
    public func dropConnection() {
        client.dropConnection()
    }

    /// Called by the client on its event loop once the socket is gone.
    func didDisconnect() {
        let pending = state.withLock { state -> [@Sendable (Result<[JSONValue], AckError>) -> Void] in
            state.connected = false
            defer { state.pendingAcks = [:] }
            return Array(state.pendingAcks.values)
        }
        for handler in pending { handler(.failure(.disconnected)) }
    }
}

/// A ``RestoredSession`` kept by reference (see ``Socket/restoration``).
private final class RestorationBox: Sendable {
    let value: RestoredSession
    init(_ value: RestoredSession) { self.value = value }
}
