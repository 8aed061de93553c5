import PushinatorHTTP

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
    /// This node's internal address, where the other nodes forward the Engine.IO requests of its sessions:
    /// `http://10.0.0.5:8081`, `10.0.0.5:8081`, or a host alone (the client port is added). `nil`: the client
    /// listener's address when it is not a wildcard (`0.0.0.0`, `::`); otherwise the node is not forwarded to.
    public var advertise: String?
    /// `/health` answers 503 `DEGRADED` while the bus lag (how long this node's own messages take to come back
    /// over PostgreSQL) is above this, in milliseconds. Default 5,000.
    public var maxBusLag: Int
    /// Whether a node alone on the cluster (no other node alive) answers `/user/send` and `/broadcast` only once
    /// the message is committed to the log, as it does with other nodes. Default `false`: alone, it answers once
    /// its connections have the message and the message is queued, in order, for the log.
    public var waitForLog: Bool

    /// Creates settings with the defaults.
    public init(
        postgres: String,
        channelPrefix: String = "socket.io",
        nodeName: String? = nil,
        timeout: Int = 5_000,
        heartbeatInterval: Int = 5_000,
        heartbeatTimeout: Int = 10_000,
        advertise: String? = nil,
        maxBusLag: Int = 5_000,
        waitForLog: Bool = false
    ) {
        self.postgres = postgres
        self.channelPrefix = channelPrefix
        self.nodeName = nodeName
        self.timeout = timeout
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.maxBusLag = maxBusLag
        self.waitForLog = waitForLog
        self.advertise = advertise
    }

    /// Whether `text` can be `cluster.advertise`: an address ``HTTPUpstream`` reads, or a host alone.
    static func isValidAdvertise(_ text: String) -> Bool {
        if HTTPUpstream(address: text) != nil { return true }
        let host = text.hasPrefix("http://") ? String(text.dropFirst(7)) : text
        // a host alone: a name or IPv4 address without colon, or an IPv6 address
        if host.contains(":"), host.contains("/") || AddressRange(host) == nil { return false }
        return HTTPUpstream(address: "\(Self.bracketed(host)):1") != nil
    }

    private static func bracketed(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    /// The address this node advertises to the others (`http://host:port`), or `nil` when it has none.
    /// - Parameters:
    ///   - clientHost: `client.host`.
    ///   - clientPort: The port the client listener is bound to.
    public func advertisedAddress(clientHost: String, clientPort: Int) -> String? {
        if let advertise {
            if let upstream = HTTPUpstream(address: advertise) { return upstream.url }
            let host = advertise.hasPrefix("http://") ? String(advertise.dropFirst(7)) : advertise
            return HTTPUpstream(address: "\(Self.bracketed(host)):\(clientPort)")?.url
        }
        guard !HTTPUpstream.isWildcard(clientHost) else { return nil }
        return HTTPUpstream(address: "\(Self.bracketed(clientHost)):\(clientPort)")?.url
    }
}
