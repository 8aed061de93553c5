import PushinatorCluster
public import PushinatorSocketIO

/// The cluster settings the `cluster` section and the recovery window make.
extension PushinatorConfiguration {
    /// This node's ``SocketIOCluster`` settings (`cluster.heartbeatInterval`, `heartbeatTimeout`, `timeout`,
    /// `waitForLog`); `nil` without a `cluster` section.
    public var socketIOClusterConfiguration: SocketIOCluster.Configuration? {
        guard let cluster else { return nil }
        let membership = ClusterMembership.Configuration(
            heartbeatInterval: .milliseconds(cluster.heartbeatInterval),
            heartbeatTimeout: .milliseconds(cluster.heartbeatTimeout),
            requestTimeout: .milliseconds(cluster.timeout)
        )
        return SocketIOCluster.Configuration(membership: membership, waitForPublishWhenAlone: cluster.waitForLog)
    }

    /// How long the cluster's log must keep a message at least: a client restored on another node replays the
    /// log since its disconnection, so the recovery window and a minute more; `nil` with recovery off.
    public var minimumClusterLogRetention: Duration? {
        guard recoveryMaxDisconnection > 0 else { return nil }
        return .milliseconds(recoveryMaxDisconnection) + .seconds(60)
    }
}
