public import PushinatorJSON

/// One message between the nodes of a cluster: socket.io's `ClusterMessage` / `ClusterResponse`
/// (`{uid, nsp, type, data}`), from `socket.io-adapter/lib/cluster-adapter.ts`.
///
/// ```swift
/// let message = ClusterMessage(uid: node.uid, nsp: "/", body: .broadcast(packet: packet, options: .init(rooms: ["user:42"])))
/// let json = message.jsonValue.jsonString  // {"type":3,"data":{"packet":...,"opts":{...}},"uid":"...","nsp":"/"}
/// ```
public struct ClusterMessage: Sendable, Hashable {
    /// The sending adapter's id (16 hex digits in socket.io; `"emitter"` for the socket.io emitters).
    public var uid: String
    /// The namespace, such as `"/"`.
    public var nsp: String
    /// What the message says.
    public var body: Body
    /// The sender's advertisement, on heartbeats of pushinator nodes (the `pushinatorNode` member; `nil` from
    /// Node.js nodes and on other messages).
    public var node: ClusterNodeAdvertisement?
    /// The sender's recovery sequence number of a broadcast it recorded for connection state recovery (the
    /// extra member `pushinatorSeq`, which Node ignores): another node restoring a session of the sender tells
    /// what the client already got by it. `nil` for every other message.
    public var recoverySequence: UInt64?
    /// The row of the transport's log the message came from (PostgreSQL's `pushinator_cluster_log.id`), set by
    /// a transport that keeps a log, on the messages it reports; not part of the message's text nor of `==`.
    public var logID: Int64?

    /// The uid the socket.io emitters (`@socket.io/postgres-emitter`, `@socket.io/redis-emitter`) send with.
    public static let emitterUID = "emitter"

    /// Creates a message.
    /// - Parameters:
    ///   - uid: The sender's id.
    ///   - nsp: The namespace.
    ///   - body: What it says.
    ///   - node: The sender's advertisement (heartbeats only).
    ///   - recoverySequence: The sender's recovery sequence number of a recorded broadcast.
    public init(uid: String, nsp: String, body: Body, node: ClusterNodeAdvertisement? = nil, recoverySequence: UInt64? = nil) {
        self.uid = uid
        self.nsp = nsp
        self.body = body
        self.node = node
        self.recoverySequence = recoverySequence
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.uid == rhs.uid && lhs.nsp == rhs.nsp && lhs.body == rhs.body && lhs.node == rhs.node
            && lhs.recoverySequence == rhs.recoverySequence
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(uid)
        hasher.combine(nsp)
        hasher.combine(body)
        hasher.combine(node)
        hasher.combine(recoverySequence)
    }

    /// The message's type number.
    public var type: ClusterMessageType { body.type }

    /// Whether the message is a response to a request of one node (`ClusterResponse` in socket.io).
    public var isResponse: Bool {
        switch type {
        case .fetchSocketsResponse, .serverSideEmitResponse, .broadcastClientCount, .broadcastAck: true
        default: false
        }
    }

    /// The contents of each message type.
    public enum Body: Sendable, Hashable {
        /// A node starts (``ClusterMessageType/initialHeartbeat``).
        case initialHeartbeat
        /// A node is alive.
        case heartbeat
        /// A node's adapter closes.
        case adapterClose
        /// Broadcast `packet` (a Socket.IO packet object `{type, data, nsp}`) to the sockets `options` match;
        /// `requestId` is set when the sender expects ``broadcastClientCount(requestId:clientCount:)`` and
        /// ``broadcastAck(requestId:packet:)`` answers.
        case broadcast(packet: JSONValue, options: ClusterBroadcastOptions, requestId: String? = nil)
        /// The matching sockets join `rooms`.
        case socketsJoin(options: ClusterBroadcastOptions, rooms: [String])
        /// The matching sockets leave `rooms`.
        case socketsLeave(options: ClusterBroadcastOptions, rooms: [String])
        /// Disconnect the matching sockets; `close` also closes their underlying connection.
        case disconnectSockets(options: ClusterBroadcastOptions, close: Bool?)
        /// Ask for the matching sockets.
        case fetchSockets(options: ClusterBroadcastOptions, requestId: String)
        /// The sockets one node has that match (each `{id, handshake, rooms, data}`).
        case fetchSocketsResponse(requestId: String, sockets: [JSONValue])
        /// An event for the other servers: `packet` is `[event, ...arguments]`; `requestId` when they must answer.
        case serverSideEmit(packet: [JSONValue], requestId: String? = nil)
        /// One server's answer to a server-side emit.
        case serverSideEmitResponse(requestId: String, packet: JSONValue)
        /// How many clients one node sent an acknowledged broadcast to.
        case broadcastClientCount(requestId: String, clientCount: Int)
        /// One client's acknowledgement of an acknowledged broadcast.
        case broadcastAck(requestId: String, packet: JSONValue)

        /// The type number of this body.
        public var type: ClusterMessageType {
            switch self {
            case .initialHeartbeat: .initialHeartbeat
            case .heartbeat: .heartbeat
            case .adapterClose: .adapterClose
            case .broadcast: .broadcast
            case .socketsJoin: .socketsJoin
            case .socketsLeave: .socketsLeave
            case .disconnectSockets: .disconnectSockets
            case .fetchSockets: .fetchSockets
            case .fetchSocketsResponse: .fetchSocketsResponse
            case .serverSideEmit: .serverSideEmit
            case .serverSideEmitResponse: .serverSideEmitResponse
            case .broadcastClientCount: .broadcastClientCount
            case .broadcastAck: .broadcastAck
            }
        }
    }
}
