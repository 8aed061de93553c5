public import EngineIO
public import PushinatorJSON

/// Keeps track of the sockets of one namespace and the rooms they are in, and carries out what a namespace
/// does to many sockets at once: broadcasts, room changes, disconnects, fetches.
///
/// The default ``InMemoryAdapter`` serves one process. An adapter for a cluster implements the same protocol: the
/// first group of requirements is about this process's own sockets and never crosses a network (the server
/// calls it as sockets connect, join and leave); ``broadcast(_:to:flags:)`` reaches every server but returns
/// at once; the operations that need answers from other servers are `async` and return what arrived by their
/// deadline. Connection state recovery is the adapter's too: it records the broadcasts it buffers and restores
/// sessions (``persistSession(_:)``, ``restoreSession(pid:offset:)``).
///
/// ```swift
/// let io = SocketIOServer(adapter: { context in MyClusterAdapter(namespace: context.namespace, store: context.store) },
///                         logger: logger)
/// ```
public protocol SocketIOAdapter: Sendable {
    // MARK: This process's sockets

    /// A socket of this process connected to the namespace: it is in its own room (named after its id) and, when
    /// it was recovered, in the rooms of its session.
    /// - Returns: For a recovered socket, the packets it missed, in order: the caller sends them right after the
    ///   CONNECT answer, before anything else; empty otherwise.
    func add(_ socket: Socket) -> [EngineIOEncodedPacket]
    /// A socket left the namespace; it leaves all rooms.
    func remove(_ socket: Socket)
    /// Puts `socket` in `rooms`.
    func join(_ socket: Socket, rooms: [String])
    /// Takes `socket` out of `room`.
    func leave(_ socket: Socket, room: String)
    /// The rooms `socket` is in.
    func rooms(of socket: Socket) -> Set<String>
    /// This process's sockets in any of `rooms` (every socket when `rooms` is empty) and in none of `exceptRooms`.
    func sockets(in rooms: Set<String>, except exceptRooms: Set<String>) -> [Socket]
    /// Every room of this process with the ids of its sockets.
    func allRooms() -> [String: Set<String>]
    /// The number of this process's sockets.
    var count: Int { get }

    // MARK: Broadcasting (the hot path)

    /// Sends an EVENT packet to the sockets `target` selects, on every server; encodes it once.
    /// - Returns: The number of sockets of this process it was handed to.
    func broadcast(_ packet: SocketIOPacket, to target: BroadcastTarget, flags: BroadcastFlags) -> Int

    // MARK: Operations that may cross a network

    /// Sends an EVENT packet expecting an acknowledgement to the sockets `target` selects and collects the answers
    /// until `timeout`.
    func broadcastWithAck(
        _ packet: SocketIOPacket,
        to target: BroadcastTarget,
        flags: BroadcastFlags,
        timeout: Duration
    ) async -> BroadcastAcks
    /// Puts the sockets `target` selects in `rooms`.
    func addSockets(_ target: BroadcastTarget, rooms: [String]) async
    /// Takes the sockets `target` selects out of `rooms`.
    func removeSockets(_ target: BroadcastTarget, rooms: [String]) async
    /// Disconnects the sockets `target` selects; with `close`, their whole connections.
    func disconnectSockets(_ target: BroadcastTarget, close: Bool) async
    /// The sockets `target` selects, on every server.
    func fetchSockets(_ target: BroadcastTarget) async -> [RemoteSocket]
    /// Sends an event to the other servers of a cluster and collects their answers until `timeout` (one process:
    /// no other server, no answer).
    func serverSideEmit(_ event: String, _ arguments: [JSONValue], timeout: Duration) async -> [[JSONValue]]
    /// The number of sockets on every server.
    func clientCount() async -> Int
    /// Sends an EVENT packet like ``broadcast(_:to:flags:)`` and waits until every server said how many of its
    /// sockets it was handed to (or the cluster's deadline passed).
    func broadcastCounting(_ packet: SocketIOPacket, to target: BroadcastTarget, flags: BroadcastFlags) async -> BroadcastCount

    // MARK: Connection state recovery

    /// Keeps the session of a socket whose connection dropped (only called while recovery is on).
    func persistSession(_ session: PersistedSession)
    /// Takes back the session with private id `pid` when its client can be recovered: the session is known, not
    /// expired, and every event after `offset` (after the session's start when `nil`) is still kept.
    func restoreSession(pid: String, offset: String?) async -> RestoredSession?
}

/// What a broadcast selects: sockets in any of ``rooms`` (every socket when empty) and in none of ``except``.
public struct BroadcastTarget: Sendable, Hashable {
    /// The rooms to reach; empty for the whole namespace.
    public var rooms: Set<String>
    /// The rooms to leave out (a socket id leaves out that socket).
    public var except: Set<String>

    /// Creates a selection.
    public init(rooms: Set<String> = [], except: Set<String> = []) {
        self.rooms = rooms
        self.except = except
    }
}

/// How a broadcast is sent.
public struct BroadcastFlags: Sendable, Hashable {
    /// The event may be lost: it is not buffered for connection state recovery and carries no offset.
    public var volatile: Bool
    /// Only this process's sockets (a cluster adapter does not forward it).
    public var local: Bool

    /// Creates flags, all off by default.
    public init(volatile: Bool = false, local: Bool = false) {
        self.volatile = volatile
        self.local = local
    }
}

/// The answers to ``SocketIOAdapter/broadcastWithAck(_:to:flags:timeout:)``.
public struct BroadcastAcks: Sendable, Equatable {
    /// How many sockets the event was sent to.
    public var expected: Int
    /// The arguments of each answer that arrived in time, in arrival order.
    public var responses: [[JSONValue]]

    /// Creates a result.
    public init(expected: Int, responses: [[JSONValue]]) {
        self.expected = expected
        self.responses = responses
    }
}

/// What ``SocketIOAdapter/broadcastCounting(_:to:flags:)`` found out.
public struct BroadcastCount: Sendable, Equatable {
    /// The sockets the event was handed to, on every server that answered.
    public var delivered: Int
    /// The rooms of the target that had at least one socket on a server that answered.
    public var reachedRooms: Set<String>
    /// How many other servers did not answer in time (their sockets may have got the event all the same).
    public var missingServers: Int
    /// Whether the event could not be handed to the other servers at all (their bus was unreachable past the
    /// retry deadline); only this server's sockets got it.
    public var notPublished: Bool

    /// Creates a result.
    public init(delivered: Int, reachedRooms: Set<String> = [], missingServers: Int = 0, notPublished: Bool = false) {
        self.delivered = delivered
        self.reachedRooms = reachedRooms
        self.missingServers = missingServers
        self.notPublished = notPublished
    }

    /// Whether every server answered.
    public var isComplete: Bool { missingServers == 0 && !notPublished }
}

/// A socket as ``SocketIOAdapter/fetchSockets(_:)`` describes it: on this server or another one.
public struct RemoteSocket: Sendable, Equatable {
    /// The socket id.
    public var id: String
    /// The rooms it is in.
    public var rooms: Set<String>
    /// ``Socket/data``.
    public var data: JSONValue

    /// Creates a description.
    public init(id: String, rooms: Set<String>, data: JSONValue) {
        self.id = id
        self.rooms = rooms
        self.data = data
    }
}

/// A session that ``SocketIOAdapter/restoreSession(pid:offset:)`` gave back.
public struct RestoredSession: Sendable {
    /// The session as it was kept.
    public let session: PersistedSession
    /// The sequence number after which the client missed events.
    public let replayAfter: UInt64
    /// Keeps the in-memory adapter recording broadcasts until the socket is added back (``RestorationClaim``).
    let claim: RestorationClaim?

    /// Events another node's session missed, read from the cluster's log: sent before those after
    /// ``replayAfter``.
    let logReplay: [EngineIOEncodedPacket]
    /// The events in ``logReplay``, left out of the rest of the replay.
    let logReplayed: Set<ReplayKey>

    /// Creates a restored session.
    public init(session: PersistedSession, replayAfter: UInt64) {
        self.init(session: session, replayAfter: replayAfter, logReplay: [], logReplayed: [])
    }

    init(
        session: PersistedSession,
        replayAfter: UInt64,
        logReplay: [EngineIOEncodedPacket],
        logReplayed: Set<ReplayKey>,
        claim: RestorationClaim? = nil
    ) {
        self.session = session
        self.replayAfter = replayAfter
        self.logReplay = logReplay
        self.logReplayed = logReplayed
        self.claim = claim
    }
}

/// One event of a cluster, the same on every node: its log row, or a node's own event by sequence number.
enum ReplayKey: Hashable {
    /// Another node's event, by its log id.
    case log(Int64)
    /// This node's own event, by its recovery sequence number.
    case own(UInt64)

    /// The key of a recorded event; `nil` for another node's event without a log id (it cannot be in a log replay).
    init?(_ record: RecordedPacket) {
        guard let origin = record.origin else {
            self = .own(record.sequence)
            return
        }
        guard let logID = origin.logID else { return nil }
        self = .log(logID)
    }
}

/// What a ``SocketIOServer`` gives the adapter factory for each namespace.
public struct AdapterContext: Sendable {
    /// The namespace name.
    public let namespace: String
    /// The session store when connection state recovery is on, `nil` otherwise.
    public let store: (any SessionStore)?
    /// The namespace's handlers of events from other servers (``Namespace/onServerSideEmit(_:_:)``), which a
    /// cluster adapter runs.
    public let serverSideEvents: ServerSideEvents

    /// Creates a context (for tests and adapters that wrap another one).
    public init(namespace: String, store: (any SessionStore)? = nil, serverSideEvents: ServerSideEvents = ServerSideEvents()) {
        self.namespace = namespace
        self.store = store
        self.serverSideEvents = serverSideEvents
    }
}
