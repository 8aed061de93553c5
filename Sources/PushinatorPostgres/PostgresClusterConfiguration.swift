/// How the PostgreSQL transport talks to the database; the defaults are @socket.io/postgres-adapter's.
public struct PostgresClusterConfiguration: Sendable, Hashable {
    /// The database address.
    public var url: PostgresURL
    /// Notifications go on the channel `"{channelPrefix}#{namespace}"`. Default `socket.io` (as the Node adapter).
    public var channelPrefix: String
    /// The table of MessagePack payloads too large for a notification or holding binary. Default
    /// `socket_io_attachments` (shared with Node nodes and the emitter).
    public var attachmentTable: String
    /// A message whose JSON takes this many bytes or more goes through the attachment table (PostgreSQL refuses
    /// notifications of 8,000 bytes and more). Default 8,000.
    public var payloadThreshold: Int
    /// How often old attachments and log rows are deleted; attachments older than this go. Default 30 s.
    public var cleanupInterval: Duration
    /// The log of every published message (what a node catches up from). Default `pushinator_cluster_log`.
    public var logTable: String
    /// How long log rows are kept: a node down for longer misses what is older. Default 10 minutes.
    public var logRetention: Duration
    /// The table of each node's position in the log. Default `pushinator_cluster_cursors`.
    public var cursorTable: String
    /// This node's stable name: its log position is saved under it, so that after a restart it catches up
    /// from where it stopped. `nil` (the default): a new node each start, which starts at the end of the log.
    public var nodeName: String?
    /// The uid this node publishes with; messages with it are not reported back. Default: 16 random hex digits.
    public var localUID: String
    /// How many log ids before its position a node re-reads after a reconnection, to find rows whose
    /// transactions committed late (ids are given out before commit). Default 1,000.
    public var catchUpWindow: Int
    /// The largest message accepted from the channel or the attachment table, in bytes. Default 16 MiB.
    public var maxMessageBytes: Int
    /// Events not yet consumed beyond this many are dropped (and logged). Default 100,000.
    public var maxPendingEvents: Int
    /// The first delay before reconnecting; it doubles up to ``maxReconnectDelay``. Default 250 ms.
    public var reconnectDelay: Duration
    /// The longest delay between reconnection attempts. Default 5 s.
    public var maxReconnectDelay: Duration

    /// Creates a configuration.
    /// - Parameters:
    ///   - url: The database address.
    ///   - channelPrefix: The notification channels' prefix.
    ///   - nodeName: This node's stable name, to catch up after a restart.
    public init(url: PostgresURL, channelPrefix: String = "socket.io", nodeName: String? = nil) {
        self.url = url
        self.channelPrefix = channelPrefix
        self.attachmentTable = "socket_io_attachments"
        self.payloadThreshold = 8_000
        self.cleanupInterval = .seconds(30)
        self.logTable = "pushinator_cluster_log"
        self.logRetention = .seconds(600)
        self.cursorTable = "pushinator_cluster_cursors"
        self.nodeName = nodeName
        self.localUID = Self.randomUID()
        self.catchUpWindow = 1_000
        self.maxMessageBytes = 16 << 20
        self.maxPendingEvents = 100_000
        self.reconnectDelay = .milliseconds(250)
        self.maxReconnectDelay = .seconds(5)
    }

    /// 16 random hex digits, as socket.io's `randomId()`.
    public static func randomUID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The channel of `namespace`.
    /// The function a publish batch calls, created at start-up beside the log table: `{logTable}_publish`.
    public var publishFunction: String { "\(logTable)_publish" }

    public func channel(of namespace: String) -> String { "\(channelPrefix)#\(namespace)" }

    /// The namespace of `channel`, when it is one of ours.
    func namespace(of channel: String) -> String? {
        let prefix = "\(channelPrefix)#"
        return channel.hasPrefix(prefix) ? String(channel.dropFirst(prefix.count)) : nil
    }

    /// Checks the table names (they are written into SQL) and the numbers.
    func validate() throws(PostgresClusterTransportError) {
        for (name, table) in [("attachment", attachmentTable), ("log", logTable), ("cursor", cursorTable)] {
            let valid =
                !table.isEmpty && table.count <= 63
                && table.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
                && !(table.utf8.first.map { $0 >= 48 && $0 <= 57 } ?? false)
            guard valid else {
                throw .configuration("the \(name) table name must be lower-case letters, digits and _: \(table)")
            }
        }
        guard payloadThreshold > 64 && payloadThreshold <= 8_000 else {
            throw .configuration("payloadThreshold must be 65...8000 bytes (PostgreSQL's notification limit)")
        }
        guard catchUpWindow >= 0, maxMessageBytes > 0, maxPendingEvents > 0 else {
            throw .configuration("catchUpWindow, maxMessageBytes and maxPendingEvents must be positive")
        }
    }
}
