import EngineIO

/// The members of one room. Most rooms have a single member (every socket's own room, a user's room), which is
/// kept without a collection: with thousands of sockets that is a few hundred bytes less per socket.
enum RoomMembers {
    case one(ObjectIdentifier, Socket)
    case many(MemberList)

    /// Adds `socket` (under `key`, its identity) unless it is a member already.
    mutating func insert(_ socket: Socket, key: ObjectIdentifier) {
        switch self {
        case .one(let existing, let member):
            if existing != key { self = .many(MemberList([(existing, member), (key, socket)])) }
        case .many(var members):
            self = .one(key, socket)  // let `members` be uniquely referenced while it grows
            members.insert(socket, key: key)
            self = .many(members)
        }
    }

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
struct MemberList {
    private(set) var sockets: [Socket] = []
    /// The sockets' Engine.IO sessions, in the same order: a broadcast writes to them without touching the sockets.
    private(set) var sessions: [EngineIOSession] = []
    private var positions: [ObjectIdentifier: Int] = [:]
    /// How many members take events without a recovery offset (Engine.IO v3 clients, clients that opted out),
    /// while recovery is on: when none, a recorded broadcast hands everyone the same bytes without looking.
    private(set) var plainCount = 0

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
        if !socket.receivesOffsets { plainCount += 1 }
    }

    mutating func remove(_ key: ObjectIdentifier) {
        guard let position = positions.removeValue(forKey: key) else { return }
        if !sockets[position].receivesOffsets { plainCount -= 1 }
        let last = sockets.removeLast()
        let lastSession = sessions.removeLast()
        guard position < sockets.count else { return }
        sockets[position] = last
        sessions[position] = lastSession
        positions[ObjectIdentifier(last)] = position
    }
}

extension Dictionary where Key == String, Value == RoomMembers {
    /// Adds `socket` to `room`: one hash of the room's name for a room that exists (changed in place), two for a
    /// new one.
    mutating func insert(_ socket: Socket, key: ObjectIdentifier, into room: String) {
        guard let index = index(forKey: room) else {
            self[room] = .one(key, socket)
            return
        }
        values[index].insert(socket, key: key)
    }

    mutating func remove(_ key: ObjectIdentifier, from room: String) {
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
