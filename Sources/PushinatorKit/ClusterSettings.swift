/// The `cluster` section of pushinator's configuration: several nodes on one PostgreSQL.
///
/// ```js
/// cluster: { postgres: 'postgres://push:secret@db:5432/push', channelPrefix: 'socket.io', nodeName: 'node-1' }
/// ```
public struct ClusterSettings: Sendable, Equatable {
    /// The database URL (`postgres://user:password@host:5432/db`, `?sslmode=require` for TLS).
    public var postgres: String
    /// Notifications go on `"{channelPrefix}#{namespace}"`; the same on every node (and in the socket.io
    /// emitters). Default `socket.io`.
    public var channelPrefix: String
    /// This node's stable name: its position in the cluster log is saved under it, so that after a restart it
    /// delivers what was sent while it was down. `nil`: catch-up after a lost database connection only.
    public var nodeName: String?
    /// How long an admin call waits for the other nodes' counts, in milliseconds. Default 5,000.
    public var timeout: Int
    /// A node publishes a heartbeat after this long without publishing, in milliseconds. Default 5,000.
    public var heartbeatInterval: Int
    /// A node not heard from for longer is down, in milliseconds. Default 10,000.
    public var heartbeatTimeout: Int

    /// Creates settings with the defaults.
    public init(
        postgres: String,
        channelPrefix: String = "socket.io",
        nodeName: String? = nil,
        timeout: Int = 5_000,
        heartbeatInterval: Int = 5_000,
        heartbeatTimeout: Int = 10_000
    ) {
        self.postgres = postgres
        self.channelPrefix = channelPrefix
        self.nodeName = nodeName
        self.timeout = timeout
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
    }
}
