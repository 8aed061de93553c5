/// The kinds of message socket.io's cluster adapters exchange, numbered as `MessageType` in
/// `socket.io-adapter/lib/cluster-adapter.ts` (the numbers travel on the wire).
public enum ClusterMessageType: Int, Sendable, Hashable, CaseIterable {
    /// A node starts; every other node answers with a ``heartbeat``.
    case initialHeartbeat = 1
    /// A node is alive (sent every `heartbeatInterval` when it published nothing else).
    case heartbeat = 2
    /// Broadcast a packet to the matching sockets (with a `requestId` when acknowledgements are expected).
    case broadcast = 3
    /// Make the matching sockets join rooms.
    case socketsJoin = 4
    /// Make the matching sockets leave rooms.
    case socketsLeave = 5
    /// Disconnect the matching sockets.
    case disconnectSockets = 6
    /// Ask every node for its matching sockets.
    case fetchSockets = 7
    /// A node's answer to ``fetchSockets``.
    case fetchSocketsResponse = 8
    /// An event for the other servers (`io.serverSideEmit`), with a `requestId` when they must answer.
    case serverSideEmit = 9
    /// A node's answer to ``serverSideEmit``.
    case serverSideEmitResponse = 10
    /// How many clients a node broadcast an acknowledged packet to.
    case broadcastClientCount = 11
    /// One client's acknowledgement of an acknowledged broadcast.
    case broadcastAck = 12
    /// A node's adapter closes: the others forget it at once.
    case adapterClose = 13
}
