public import PushinatorCluster
import Logging
import Synchronization

extension SocketIOCluster {
    /// The advertisements of the other nodes alive in the main namespace, by uid: where to forward the Engine.IO
    /// requests of their sessions.
    public var liveNodes: [String: ClusterNodeAdvertisement] {
        let alive = adapter(of: "/")?.aliveNodes ?? []
        return directory.nodes.filter { alive.contains($0.key) }
    }

    /// What this server tells the others in its heartbeats so that they forward the Engine.IO requests of its
    /// sessions to it (``ClusterSessionForwarder``); `nil` (the default): nothing, the others cannot forward to it.
    public var advertisement: ClusterNodeAdvertisement? { directory.local }

    /// Sets what this server advertises, and publishes a heartbeat with it at once (set it before ``run()`` to
    /// have it in the first heartbeat too).
    /// - Parameter node: The advertisement.
    public func advertise(_ node: ClusterNodeAdvertisement) {
        directory.local = node
        adapter(of: "/")?.publish(.heartbeat)
    }

    /// Attaches this node's advertisement to its heartbeats.
    func advertising(_ message: ClusterMessage) -> ClusterMessage {
        guard let node = directory.local, message.node == nil,
            message.type == .initialHeartbeat || message.type == .heartbeat
        else { return message }
        var message = message
        message.node = node
        return message
    }

    /// Remembers what another node advertised.
    func noteAdvertisement(of message: ClusterMessage) {
        guard let node = message.node, message.uid != uid else { return }
        guard directory.record(node, of: message.uid) else { return }
        logger.info(
            "cluster node advertises its address",
            metadata: ["cluster.uid": "\(message.uid)", "cluster.address": "\(node.address)", "cluster.sid_prefix": "\(node.sessionPrefix)"]
        )
        if node.sessionPrefix == directory.local?.sessionPrefix {
            logger.error(
                "another cluster node uses this node's session id prefix: requests of its sessions cannot be forwarded",
                metadata: ["cluster.uid": "\(message.uid)", "cluster.sid_prefix": "\(node.sessionPrefix)"]
            )
        }
    }
}

extension ClusterAdapter {
    /// The uids of the other nodes alive in this namespace.
    var aliveNodes: Set<String> { state.withLock { Set($0.membership.nodes.keys) } }
}
