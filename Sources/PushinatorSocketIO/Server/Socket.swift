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
    private let state = Mutex(State())

    private struct State {
        var nextAckID = 0
        var pendingAcks: [Int: CheckedContinuation<[JSONValue], any Error>] = [:]
        var storage: [ObjectIdentifier: any Sendable] = [:]
        var connected = false
    }

    init(id: String, namespace: Namespace, handshake: SocketHandshake, client: SocketIOConnection) {
        self.id = id
        self.namespace = namespace
        self.handshake = handshake
        self.client = client
        self.session = client.session
    }

    public var description: String { "Socket(\(id) on \(namespace.name))" }

    /// The Engine.IO session id shared by the sockets of one client connection.
    public var engineSessionID: String { client.session.id }

    /// The event loop the client's connection lives on.
    public var eventLoop: any EventLoop { client.session.eventLoop }

    /// Whether the socket is still connected to its namespace.
    public var isConnected: Bool { state.withLock { $0.connected } }

    func markConnected(_ connected: Bool) { state.withLock { $0.connected = connected } }

    // MARK: Storage

    /// Typed values kept with the socket (the user it authenticated as, for example).
    ///
    /// ```swift
    /// enum UserID: SocketStorageKey { typealias Value = String }
    /// socket[UserID.self] = "5"
    /// ```
    public subscript<Key: SocketStorageKey>(key: Key.Type) -> Key.Value? {
        get { state.withLock { $0.storage[ObjectIdentifier(key)] as? Key.Value } }
        set { state.withLock { $0.storage[ObjectIdentifier(key)] = newValue } }
    }

    // MARK: Emitting

    /// Sends `event` with `arguments` to this client.
    public func emit(_ event: String, _ arguments: [JSONValue]) {
        client.session.send(SocketIOWire.encode(.event(event, arguments, namespace: namespace.name)))
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
        let id = state.withLock { state -> Int in
            defer { state.nextAckID += 1 }
            return state.nextAckID
        }
        let packets = SocketIOWire.encode(.event(event, arguments, namespace: namespace.name, ackID: id))
        let eventLoop = client.session.eventLoop
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state -> Bool in
                guard state.connected else { return false }
                state.pendingAcks[id] = continuation
                return true
            }
            guard accepted else {
                continuation.resume(throwing: AckError.disconnected)
                return
            }
            client.session.send(packets)
            eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] in
                self?.resolveAck(id, with: .failure(AckError.timeout))
            }
        }
    }

    func resolveAck(_ id: Int, with result: Result<[JSONValue], any Error>) {
        let continuation = state.withLock { $0.pendingAcks.removeValue(forKey: id) }
        continuation?.resume(with: result)
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
        BroadcastOperator(namespace: namespace, rooms: Set(rooms), excludedSocketID: id)
    }

    /// A broadcast to the whole namespace that leaves out this socket.
    public var broadcast: BroadcastOperator { BroadcastOperator(namespace: namespace, excludedSocketID: id) }

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
        let pending = state.withLock { state -> [CheckedContinuation<[JSONValue], any Error>] in
            state.connected = false
            defer { state.pendingAcks = [:] }
            return Array(state.pendingAcks.values)
        }
        for continuation in pending { continuation.resume(throwing: AckError.disconnected) }
    }
}

/// A key for a typed value kept with a ``Socket``.
public protocol SocketStorageKey {
    /// The type of the value.
    associatedtype Value: Sendable
}

/// Why ``Socket/emitWithAck(_:_:timeout:)`` got no answer.
public enum AckError: Error, Sendable, Equatable {
    /// The client did not answer in time.
    case timeout
    /// The socket disconnected before answering.
    case disconnected
}
