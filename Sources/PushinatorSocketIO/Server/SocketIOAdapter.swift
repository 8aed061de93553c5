import Synchronization

/// Keeps track of the sockets of one namespace and the rooms they are in.
///
/// The default ``InMemoryAdapter`` serves one process; an adapter that shares rooms between processes (through
/// Redis, for example) can implement this protocol later without changing the broadcast API.
public protocol SocketIOAdapter: Sendable {
    /// A socket connected to the namespace (it is in its own room, named after its id).
    func add(_ socket: Socket)
    /// A socket left the namespace; it leaves all rooms.
    func remove(_ socket: Socket)
    /// Puts `socket` in `rooms`.
    func join(_ socket: Socket, rooms: [String])
    /// Takes `socket` out of `room`.
    func leave(_ socket: Socket, room: String)
    /// The rooms `socket` is in.
    func rooms(of socket: Socket) -> Set<String>
    /// The sockets in any of `rooms` (every socket when `rooms` is empty) and in none of `exceptRooms`.
    func sockets(in rooms: Set<String>, except exceptRooms: Set<String>) -> [Socket]
    /// Every room with the ids of its sockets.
    func allRooms() -> [String: Set<String>]
    /// The number of sockets.
    var count: Int { get }
}

/// The in-process ``SocketIOAdapter``: dictionaries behind one lock.
public final class InMemoryAdapter: SocketIOAdapter {
    private struct State {
        var sockets: [String: Socket] = [:]
        var rooms: [String: Set<String>] = [:]
        var socketRooms: [String: Set<String>] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty adapter.
    public init() {}

    public func add(_ socket: Socket) {
        state.withLock { state in
            state.sockets[socket.id] = socket
            state.socketRooms[socket.id] = [socket.id]
            state.rooms[socket.id, default: []].insert(socket.id)
        }
    }

    public func remove(_ socket: Socket) {
        state.withLock { state in
            state.sockets[socket.id] = nil
            for room in state.socketRooms.removeValue(forKey: socket.id) ?? [] {
                state.rooms[room]?.remove(socket.id)
                if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
            }
        }
    }

    public func join(_ socket: Socket, rooms: [String]) {
        state.withLock { state in
            guard state.sockets[socket.id] != nil else { return }
            for room in rooms {
                state.socketRooms[socket.id, default: []].insert(room)
                state.rooms[room, default: []].insert(socket.id)
            }
        }
    }

    public func leave(_ socket: Socket, room: String) {
        state.withLock { state in
            state.socketRooms[socket.id]?.remove(room)
            state.rooms[room]?.remove(socket.id)
            if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
        }
    }

    public func rooms(of socket: Socket) -> Set<String> {
        state.withLock { $0.socketRooms[socket.id] ?? [] }
    }

    public func sockets(in rooms: Set<String>, except exceptRooms: Set<String>) -> [Socket] {
        state.withLock { state in
            var excluded = Set<String>()
            for room in exceptRooms { excluded.formUnion(state.rooms[room] ?? []) }
            if rooms.isEmpty {
                guard !excluded.isEmpty else { return Array(state.sockets.values) }
                return state.sockets.values.filter { !excluded.contains($0.id) }
            }
            if rooms.count == 1, let only = rooms.first {
                return (state.rooms[only] ?? []).compactMap { excluded.contains($0) ? nil : state.sockets[$0] }
            }
            var ids = Set<String>()
            for room in rooms { ids.formUnion(state.rooms[room] ?? []) }
            return ids.compactMap { excluded.contains($0) ? nil : state.sockets[$0] }
        }
    }

    public func allRooms() -> [String: Set<String>] { state.withLock { $0.rooms } }

    public var count: Int { state.withLock { $0.sockets.count } }
}
