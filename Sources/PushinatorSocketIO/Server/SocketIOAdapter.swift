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
    /// Sends an event to the other servers of a cluster without asking for answers (socket.io's `serverSideEmit`
    /// without an acknowledgement): queued for the bus in order, nothing to wait for (one process: nothing to do).
    func serverSideEmitWithoutAnswers(_ event: String, _ arguments: [JSONValue])
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
