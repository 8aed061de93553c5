import EngineIO
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
/// Rooms hold the sockets themselves in an array, so the recipients of a broadcast to one room are that array,
/// shared as it is: no lookup, copy or retain per socket.
public final class InMemoryAdapter: SocketIOAdapter {
    private struct State {
        var sockets = MemberList()
        var rooms: [String: RoomMembers] = [:]
        var socketRooms: [ObjectIdentifier: Set<String>] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty adapter.
    public init() {}

    public func add(_ socket: Socket) {
        let key = ObjectIdentifier(socket)
        state.withLock { state in
            state.sockets.insert(socket, key: key)
            state.socketRooms[key] = [socket.id]
            state.rooms.insert(socket, key: key, into: socket.id)
        }
    }

    public func remove(_ socket: Socket) {
        let key = ObjectIdentifier(socket)
        state.withLock { state in
            state.sockets.remove(key)
            for room in state.socketRooms.removeValue(forKey: key) ?? [] { state.rooms.remove(key, from: room) }
        }
    }

    public func join(_ socket: Socket, rooms: [String]) {
        let key = ObjectIdentifier(socket)
        state.withLock { state in
            guard state.sockets.contains(key) else { return }
            for room in rooms {
                state.socketRooms[key, default: []].insert(room)
                state.rooms.insert(socket, key: key, into: room)
            }
        }
    }

    public func leave(_ socket: Socket, room: String) {
        let key = ObjectIdentifier(socket)
        state.withLock { state in
            state.socketRooms[key]?.remove(room)
            state.rooms.remove(key, from: room)
        }
    }

    public func rooms(of socket: Socket) -> Set<String> {
        state.withLock { $0.socketRooms[ObjectIdentifier(socket)] ?? [] }
    }

    public func sockets(in rooms: Set<String>, except exceptRooms: Set<String>) -> [Socket] {
        state.withLock { state in
            var excluded = Set<ObjectIdentifier>()
            for room in exceptRooms { state.rooms[room]?.forEach { key, _ in excluded.insert(key) } }
            if rooms.isEmpty {
                guard !excluded.isEmpty else { return state.sockets.sockets }
                return state.sockets.sockets.filter { !excluded.contains(ObjectIdentifier($0)) }
            }
            if rooms.count == 1, let only = rooms.first {
                guard let members = state.rooms[only] else { return [] }
                return members.sockets(excluding: excluded)
            }
            var selected: [ObjectIdentifier: Socket] = [:]
            for room in rooms {
                state.rooms[room]?.forEach { key, socket in
                    if !excluded.contains(key) { selected[key] = socket }
                }
            }
            return Array(selected.values)
        }
    }

    /// The Engine.IO sessions of the sockets ``sockets(in:except:)`` selects: what a broadcast writes to. A broadcast
    /// to one room or to everyone takes the list kept for it, as it is.
    func sessions(in rooms: Set<String>, except exceptRooms: Set<String>) -> [EngineIOSession] {
        if exceptRooms.isEmpty, rooms.count <= 1 {
            return state.withLock { state in
                guard let room = rooms.first else { return state.sockets.sessions }
                switch state.rooms[room] {
                case nil: return []
                case .one(_, let socket): return [socket.session]
                case .many(let members): return members.sessions
                }
            }
        }
        return sockets(in: rooms, except: exceptRooms).map(\.session)
    }

    public func allRooms() -> [String: Set<String>] {
        state.withLock { state in
            state.rooms.mapValues { members in
                var ids = Set<String>()
                members.forEach { _, socket in ids.insert(socket.id) }
                return ids
            }
        }
    }

    public var count: Int { state.withLock { $0.sockets.count } }
}

/// The members of one room. Most rooms have a single member (every socket's own room, a user's room), which is
/// kept without a collection: with thousands of sockets that is a few hundred bytes less per socket.
private enum RoomMembers {
    case one(ObjectIdentifier, Socket)
    case many(MemberList)

    func forEach(_ body: (ObjectIdentifier, Socket) -> Void) {
        switch self {
        case .one(let key, let socket): body(key, socket)
        case .many(let members): for socket in members.sockets { body(ObjectIdentifier(socket), socket) }
        }
    }

    func sockets(excluding excluded: Set<ObjectIdentifier>) -> [Socket] {
        switch self {
        case .one(let key, let socket): excluded.contains(key) ? [] : [socket]
        case .many(let members):
            // no exclusions (a broadcast to a room): the room's own array, shared until the room changes
            excluded.isEmpty ? members.sockets : members.sockets.filter { !excluded.contains(ObjectIdentifier($0)) }
        }
    }
}

/// The members of a room with more than one socket: arrays in the order they joined, which a broadcast takes as
/// they are (no copy, no retain per socket), and each one's position in them, so leaving is a swap with the last.
private struct MemberList {
    private(set) var sockets: [Socket] = []
    /// The sockets' Engine.IO sessions, in the same order: a broadcast writes to them without touching the sockets.
    private(set) var sessions: [EngineIOSession] = []
    private var positions: [ObjectIdentifier: Int] = [:]

    init() {}

    init(_ members: [(ObjectIdentifier, Socket)]) {
        for (key, socket) in members { insert(socket, key: key) }
    }

    var count: Int { sockets.count }

    func contains(_ key: ObjectIdentifier) -> Bool { positions[key] != nil }

    mutating func insert(_ socket: Socket, key: ObjectIdentifier) {
        guard positions[key] == nil else { return }
        positions[key] = sockets.count
        sockets.append(socket)
        sessions.append(socket.session)
    }

    mutating func remove(_ key: ObjectIdentifier) {
        guard let position = positions.removeValue(forKey: key) else { return }
        let last = sockets.removeLast()
        let lastSession = sessions.removeLast()
        guard position < sockets.count else { return }
        sockets[position] = last
        sessions[position] = lastSession
        positions[ObjectIdentifier(last)] = position
    }
}

extension Dictionary where Key == String, Value == RoomMembers {
    fileprivate mutating func insert(_ socket: Socket, key: ObjectIdentifier, into room: String) {
        switch self[room] {
        case nil:
            self[room] = .one(key, socket)
        case .one(let existing, let member):
            if existing != key { self[room] = .many(MemberList([(existing, member), (key, socket)])) }
        case .many(var members):
            self[room] = nil  // let `members` be uniquely referenced while it grows
            members.insert(socket, key: key)
            self[room] = .many(members)
        }
    }

    fileprivate mutating func remove(_ key: ObjectIdentifier, from room: String) {
        switch self[room] {
        case nil:
            return
        case .one(let existing, _):
            if existing == key { self[room] = nil }
        case .many(var members):
            self[room] = nil
            members.remove(key)
            if members.count == 1, let last = members.sockets.first {
                self[room] = .one(ObjectIdentifier(last), last)
            } else if members.count > 1 {
                self[room] = .many(members)
            }
        }
    }
}
