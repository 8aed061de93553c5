import EngineIO
public import PushinatorCluster

/// Where a request for an Engine.IO session this node does not hold goes: decided from its `sid` alone (the owner's
/// prefix starts it, see ``EngineIOSessionOwner``), whether it was forwarded already, and the nodes alive.
///
/// ```swift
/// switch SessionForwardingDecision(sid: sid, forwarded: false, localPrefix: "Qx3a", liveNodes: cluster.liveNodes) {
/// case .forward(let node): // send it to node.address
/// case .unknown(let reason): // 400 Session ID unknown: the client reconnects
/// }
/// ```
public enum SessionForwardingDecision: Sendable, Hashable {
    /// Why the session is nobody's.
    public enum Reason: Sendable, Hashable {
        /// The sid is not a cluster session id (not 20 URL-safe base64 characters).
        case malformed
        /// The sid is this node's: the session ended (or the node restarted with the same prefix).
        case ownSession
        /// The request was forwarded already: a node never forwards it again (no loops).
        case alreadyForwarded
        /// No node alive advertises the sid's prefix: its owner is down, or unknown.
        case ownerNotAlive
    }

    /// Forward to this node.
    case forward(ClusterNodeAdvertisement)
    /// Answer 400 `Session ID unknown`.
    case unknown(Reason)

    /// Decides.
    /// - Parameters:
    ///   - sid: The request's session id.
    ///   - forwarded: Whether the request carries the forwarding marker (another node sent it).
    ///   - localPrefix: This node's session id prefix.
    ///   - liveNodes: The other nodes alive and what they advertise, by uid.
    public init(sid: String, forwarded: Bool, localPrefix: String, liveNodes: [String: ClusterNodeAdvertisement]) {
        guard let prefix = EngineIOSessionOwner.prefix(of: sid) else {
            self = .unknown(.malformed)
            return
        }
        guard prefix != localPrefix else {
            self = .unknown(.ownSession)
            return
        }
        guard !forwarded else {
            self = .unknown(.alreadyForwarded)
            return
        }
        // sorted: two nodes that clash on a prefix give the same answer every time
        guard let node = liveNodes.sorted(by: { $0.key < $1.key }).first(where: { $0.value.sessionPrefix == prefix })
        else {
            self = .unknown(.ownerNotAlive)
            return
        }
        self = .forward(node.value)
    }
}
