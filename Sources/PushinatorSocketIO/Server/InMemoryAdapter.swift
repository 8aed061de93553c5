public import EngineIO
import NIOCore
public import PushinatorJSON
import Synchronization

/// The in-process ``SocketIOAdapter``: dictionaries behind one lock.
///
/// Rooms hold the sockets themselves in an array, so the recipients of a broadcast to one room are that array,
/// shared as it is: no lookup, copy or retain per socket.
///
/// With a ``SessionStore`` (connection state recovery on), every broadcast that may be buffered gets the next
/// sequence number, is encoded once with its offset as the last argument, and is kept in the store, in the same
/// critical section that picks its recipients: a socket being recovered either gets an event in its replay or
/// live, never both, never neither.
public final class InMemoryAdapter: SocketIOAdapter {
    private struct State {
        var sockets = MemberList()
        var rooms: [String: RoomMembers] = [:]
        var socketRooms: [ObjectIdentifier: Set<String>] = [:]
        /// The sequence number of the last recorded broadcast.
        var sequence: UInt64 = 0
        /// The highest log id of another node's broadcast recorded (with a ``CrossNodeSessionStore``).
        var logPosition: Int64 = 0
    }

    private let state = Mutex(State())
    /// Where recorded broadcasts and dropped sessions are kept; `nil` while recovery is off.
    public let store: (any SessionStore)?
    /// The store, when every node of a cluster can take its sessions back (offsets then carry a log position).
    let crossNode: (any CrossNodeSessionStore)?
    /// `crossNode != nil`, kept as a flag: testing the optional existential copies and destroys it (~200
    /// instructions), several times per connect.
    private let isCrossNode: Bool
    let offsets: RecoveryOffsets
    /// Sessions taken from the store whose sockets are not added back yet.
    let restorations = RestorationCount()

    /// Creates an empty adapter.
    /// - Parameter store: The session store, when connection state recovery is on.
    public init(store: (any SessionStore)? = nil) {
        self.store = store
        self.crossNode = store as? any CrossNodeSessionStore
        self.isCrossNode = crossNode != nil
        self.offsets = RecoveryOffsets()
    }

    /// The offset of recorded broadcast `sequence`: with a cross-node store, a ``ClusterRecoveryOffset``.
    private func offset(_ sequence: UInt64, _ logPosition: Int64) -> String {
        guard isCrossNode else { return offsets.offset(for: sequence) }
        return ClusterRecoveryOffset(prefix: offsets.prefix, sequence: sequence, logPosition: logPosition).description
    }

    /// The sequence number and log position now: a cross-node restoration replays this node's records after it.
    func recoveryPoint() -> (sequence: UInt64, offset: String) {
        state.withLock { ($0.sequence, offset($0.sequence, $0.logPosition)) }
    }

    /// Tells a cross-node store the socket's session as it is now.
    private func report(_ socket: Socket, rooms: Set<String>) {
        guard let crossNode, let record = socket.sessionRecord(rooms: rooms, node: crossNode.nodeUID, keys: crossNode.persistedStorageKeys)
        else { return }
        crossNode.sessionOpened(record)
    }

    /// Creates the adapter a ``SocketIOServer`` gives a namespace.
    public convenience init(context: AdapterContext) {
        self.init(store: context.store)
    }

    // MARK: This process's sockets

    public func add(_ socket: Socket) -> [EngineIOEncodedPacket] {
        let key = ObjectIdentifier(socket)
        let restoration = socket.restoration
        var rooms: Set<String> = [socket.id]
        if let restoration { rooms.formUnion(restoration.session.rooms) }
        let replay = state.withLock { state -> [EngineIOEncodedPacket] in
            state.sockets.insert(socket, key: key)
            state.socketRooms[key] = rooms
            for room in rooms { state.rooms.insert(socket, key: key, into: room) }
            socket.setBaseSequence(state.sequence, offset: !isCrossNode ? "" : offset(state.sequence, state.logPosition))
            guard let restoration, let store else { return [] }
            restoration.claim?.settle()  // live from now on: broadcasts pick it as a recipient
            // under the lock: a broadcast recorded from now on picks this socket as a live recipient
            guard let missed = store.packets(after: restoration.replayAfter, matching: rooms) else { return restoration.logReplay }
            guard !restoration.logReplayed.isEmpty else { return restoration.logReplay + missed.flatMap(\.packets) }
            // what the log replay already has (recorded here after the log was read) is left out
            return restoration.logReplay
                + missed.filter { ReplayKey($0).map { !restoration.logReplayed.contains($0) } ?? true }.flatMap(\.packets)
        }
        if isCrossNode { report(socket, rooms: rooms) }
        return replay
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
        if isCrossNode { report(socket, rooms: self.rooms(of: socket)) }
    }

    public func leave(_ socket: Socket, room: String) {
        let key = ObjectIdentifier(socket)
        state.withLock { state in
            state.socketRooms[key]?.remove(room)
            state.rooms.remove(key, from: room)
        }
        if isCrossNode, socket.isConnected { report(socket, rooms: self.rooms(of: socket)) }
    }

    public func rooms(of socket: Socket) -> Set<String> {
        state.withLock { $0.socketRooms[ObjectIdentifier(socket)] ?? [] }
    }

    public func sockets(in rooms: Set<String>, except exceptRooms: Set<String>) -> [Socket] {
        state.withLock { Self.select(in: $0, rooms: rooms, except: exceptRooms) }
    }

    private static func select(in state: borrowing State, rooms: Set<String>, except exceptRooms: Set<String>) -> [Socket] {
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

    // MARK: Broadcasting

    public func broadcast(_ packet: SocketIOPacket, to target: BroadcastTarget, flags: BroadcastFlags) -> Int {
        record(packet, to: target, flags: flags, origin: nil).delivered
    }

    /// ``broadcast(_:to:flags:)`` of an event from `origin` (another node; `nil` for this one's own).
    /// - Returns: The sockets it was handed to, and its recovery sequence number when it was recorded.
    func record(
        _ packet: SocketIOPacket,
        to target: BroadcastTarget,
        flags: BroadcastFlags,
        origin: RecordOrigin?
    ) -> (delivered: Int, sequence: UInt64?) {
        guard let store, !flags.volatile, packet.ackID == nil, packet.type == .event || packet.type == .binaryEvent
        else {
            let recipients = state.withLock { Self.sessions(in: $0, target: target) }
            guard !recipients.isEmpty else { return (0, nil) }  // a user with no connection: nothing to encode
            SocketIOWire.deliver(SocketIOWire.encode(packet), to: recipients)
            return (recipients.count, nil)
        }
        let time = ContinuousClock.now
        let recorded = state.withLock { state -> ([EngineIOEncodedPacket], Recipients, UInt64)? in
            let recipients = Self.recipients(in: state, target: target)
            // Nobody receives it live and nobody away can come back for it: the store first, then the sessions
            // between the store and a room (a restoration is counted before its session leaves the store). With
            // a cross-node store a session may come back from another node's keeping: everything is recorded.
            if recipients.isEmpty, !isCrossNode, !store.mayHoldSession(in: target.rooms), restorations.isIdle {
                return nil
            }
            state.sequence += 1
            if let logID = origin?.logID, logID > state.logPosition { state.logPosition = logID }
            var withOffset = packet
            withOffset.appendArgument(.string(offset(state.sequence, state.logPosition)))
            let (packets, byteCount) = SocketIOWire.encodeMeasuring(withOffset)
            store.append(
                RecordedPacket(
                    sequence: state.sequence,
                    rooms: target.rooms,
                    except: target.except,
                    packets: packets,
                    byteCount: byteCount,
                    time: time,
                    origin: origin
                )
            )
            return (packets, recipients, state.sequence)
        }
        guard let (packets, recipients, sequence) = recorded else { return (0, nil) }  // e.g. a user with no socket
        if !recipients.offsets.isEmpty { SocketIOWire.deliver(packets, to: recipients.offsets) }
        if !recipients.plain.isEmpty { SocketIOWire.deliver(SocketIOWire.encode(packet), to: recipients.plain) }
        return (recipients.offsets.count + recipients.plain.count, sequence)
    }

    /// The sessions a broadcast writes to. A broadcast to one room or to everyone takes the list kept for it, as
    /// it is.
    private static func sessions(in state: borrowing State, target: BroadcastTarget) -> [EngineIOSession] {
        if target.except.isEmpty, target.rooms.count <= 1 {
            guard let room = target.rooms.first else { return state.sockets.sessions }
            switch state.rooms[room] {
            case nil: return []
            case .one(_, let socket): return [socket.session]
            case .many(let members): return members.sessions
            }
        }
        return select(in: state, rooms: target.rooms, except: target.except).map(\.session)
    }

    /// The recipients of a recorded broadcast, split by whether they take offsets (shared lists when all do).
    private static func recipients(in state: borrowing State, target: BroadcastTarget) -> Recipients {
        if target.except.isEmpty, target.rooms.count <= 1 {
            let members: MemberList
            if let room = target.rooms.first {
                switch state.rooms[room] {
                case nil: return Recipients()
                case .one(_, let socket):
                    return socket.receivesOffsets ? Recipients(offsets: [socket.session]) : Recipients(plain: [socket.session])
                case .many(let list): members = list
                }
            } else {
                members = state.sockets
            }
            if members.plainCount == 0 { return Recipients(offsets: members.sessions) }
            return Recipients(splitting: members.sockets)
        }
        return Recipients(splitting: select(in: state, rooms: target.rooms, except: target.except))
    }

    private struct Recipients {
        var offsets: [EngineIOSession] = []
        var plain: [EngineIOSession] = []

        var isEmpty: Bool { offsets.isEmpty && plain.isEmpty }

        init(offsets: [EngineIOSession] = [], plain: [EngineIOSession] = []) {
            self.offsets = offsets
            self.plain = plain
        }

        init(splitting sockets: [Socket]) {
            for socket in sockets {
                if socket.receivesOffsets { offsets.append(socket.session) } else { plain.append(socket.session) }
            }
        }
    }

    // MARK: Operations on many sockets

    public func broadcastWithAck(
        _ packet: SocketIOPacket,
        to target: BroadcastTarget,
        flags: BroadcastFlags,
        timeout: Duration
    ) async -> BroadcastAcks {
        let sockets = sockets(in: target.rooms, except: target.except)
        return await AckCollector.collect(packet, from: sockets, timeout: timeout)
    }

    public func addSockets(_ target: BroadcastTarget, rooms: [String]) async {
        for socket in sockets(in: target.rooms, except: target.except) { join(socket, rooms: rooms) }
    }

    public func removeSockets(_ target: BroadcastTarget, rooms: [String]) async {
        for socket in sockets(in: target.rooms, except: target.except) {
            for room in rooms { leave(socket, room: room) }
        }
    }

    public func disconnectSockets(_ target: BroadcastTarget, close: Bool) async {
        for socket in sockets(in: target.rooms, except: target.except) { socket.disconnect(close: close) }
    }

    public func fetchSockets(_ target: BroadcastTarget) async -> [RemoteSocket] {
        sockets(in: target.rooms, except: target.except).map { RemoteSocket(id: $0.id, rooms: $0.rooms, data: $0.data) }
    }

    public func serverSideEmit(_ event: String, _ arguments: [JSONValue], timeout: Duration) async -> [[JSONValue]] {
        []  // no other server
    }

    public func serverSideEmitWithoutAnswers(_ event: String, _ arguments: [JSONValue]) {}  // no other server

    public func clientCount() async -> Int { count }

    public func broadcastCounting(_ packet: SocketIOPacket, to target: BroadcastTarget, flags: BroadcastFlags) async -> BroadcastCount {
        let delivered = broadcast(packet, to: target, flags: flags)
        return BroadcastCount(delivered: delivered, reachedRooms: occupiedRooms(of: target))
    }

    /// The rooms of `target` with at least one socket of this process.
    func occupiedRooms(of target: BroadcastTarget) -> Set<String> {
        guard !target.rooms.isEmpty else { return [] }
        return state.withLock { state in target.rooms.filter { state.rooms[$0] != nil } }
    }

    /// Whether `room` is the own room of a socket of this process (named after its id).
    func isSocketRoom(_ room: String) -> Bool {
        state.withLock { state in
            guard case .one(_, let socket) = state.rooms[room] else { return false }
            return socket.id == room
        }
    }

    // MARK: Connection state recovery

    public func persistSession(_ session: PersistedSession) {
        store?.save(session)
    }

    public func restoreSession(pid: String, offset: String?) async -> RestoredSession? {
        guard let store else { return nil }
        var after: UInt64 = 0
        if let offset {
            guard let sequence = offsets.sequence(of: offset) else { return nil }  // not from this adapter
            after = sequence
        }
        let claim = RestorationClaim(restorations)  // before the take: the session is never out of sight
        guard let session = store.take(pid: pid) else { return nil }
        let replayAfter = max(after, session.baseSequence)
        guard store.packets(after: replayAfter, matching: session.rooms) != nil else { return nil }
        return RestoredSession(session: session, replayAfter: replayAfter, logReplay: [], logReplayed: [], claim: claim)
    }
}

/// Offsets as the clients see them: a prefix that is new for every adapter (so an offset from before a restart
/// matches nothing) and the sequence number in base 36; at most 15 bytes, a Swift string without allocation.
struct RecoveryOffsets: Sendable {
    let prefix: String

    init() {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        prefix = String((0..<4).map { _ in alphabet.randomElement()! })
    }

    init(prefix: String) { self.prefix = prefix }

    func offset(for sequence: UInt64) -> String { prefix + String(sequence, radix: 36) }

    /// The sequence number of one of this adapter's offsets (a ``ClusterRecoveryOffset``'s too), `nil` otherwise.
    func sequence(of offset: String) -> UInt64? {
        guard offset.utf8.count > prefix.utf8.count, offset.hasPrefix(prefix) else { return nil }
        let digits = offset.dropFirst(prefix.count)
        return UInt64(digits.prefix { $0 != "." }, radix: 36)
    }
}
