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
///
/// Rooms hold the sockets themselves (keyed by identity), so selecting the recipients of a broadcast to one room
/// is a copy of that room's values, with no lookup per socket.
public final class InMemoryAdapter: SocketIOAdapter {
    private struct State {
        var sockets: [ObjectIdentifier: Socket] = [:]
        var rooms: [String: [ObjectIdentifier: Socket]] = [:]
        var socketRooms: [ObjectIdentifier: Set<String>] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty adapter.
    public init() {}

    public func add(_ socket: Socket) {
        let key = ObjectIdentifier(socket)
        state.withLock { state in
            state.sockets[key] = socket
            state.socketRooms[key] = [socket.id]
            state.rooms[socket.id, default: [:]][key] = socket
        }
    }

    public func remove(_ socket: Socket) {
        let key = ObjectIdentifier(socket)
        state.withLock { state in
            state.sockets[key] = nil
            for room in state.socketRooms.removeValue(forKey: key) ?? [] {
                state.rooms[room]?[key] = nil
                if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
            }
        }
    }

    public func join(_ socket: Socket, rooms: [String]) {
        let key = ObjectIdentifier(socket)
        state.withLock { state in
            guard state.sockets[key] != nil else { return }
            for room in rooms {
                state.socketRooms[key, default: []].insert(room)
                state.rooms[room, default: [:]][key] = socket
            }
        }
    }

    public func leave(_ socket: Socket, room: String) {
        let key = ObjectIdentifier(socket)
        state.withLock { state in
            state.socketRooms[key]?.remove(room)
            state.rooms[room]?[key] = nil
            if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
        }
    }

    public func rooms(of socket: Socket) -> Set<String> {
        state.withLock { $0.socketRooms[ObjectIdentifier(socket)] ?? [] }
    }

    public func sockets(in rooms: Set<String>, except exceptRooms: Set<String>) -> [Socket] {
        state.withLock { state in
            var excluded = Set<ObjectIdentifier>()
            for room in exceptRooms { excluded.formUnion(state.rooms[room]?.keys ?? [:].keys) }
            if rooms.isEmpty {
                guard !excluded.isEmpty else { return Array(state.sockets.values) }
                return state.sockets.compactMap { excluded.contains($0.key) ? nil : $0.value }
            }
            if rooms.count == 1, let only = rooms.first {
                guard let members = state.rooms[only] else { return [] }
                guard !excluded.isEmpty else { return Array(members.values) }
                return members.compactMap { excluded.contains($0.key) ? nil : $0.value }
            }
            var selected: [ObjectIdentifier: Socket] = [:]
            for room in rooms {
                for (key, socket) in state.rooms[room] ?? [:] where !excluded.contains(key) { selected[key] = socket }
            }
            return Array(selected.values)
        }
    }

    public func allRooms() -> [String: Set<String>] {
        state.withLock { state in state.rooms.mapValues { Set($0.values.map(\.id)) } }
    }

    public var count: Int { state.withLock { $0.sockets.count } }
}
