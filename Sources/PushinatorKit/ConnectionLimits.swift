public import PushinatorHTTP
public import PushinatorRuntime

/// The limits of one of pushinator's ports that an operator sets in the configuration: how many connections one
/// address may hold and which addresses are exempt, how long and how much a client that stops reading may make the
/// server hold, and (client port) the Socket.IO payload and unfinished-binary-packet bounds.
///
/// Read from `client.*` and `admin.*`; see `Documentation/configuration.md`. Read at start only.
public struct ConnectionLimits: Sendable, Equatable {
    /// The most simultaneous connections from one address; 0: no limit (`maxConnectionsPerAddress`, default 1000).
    public var maxConnectionsPerAddress: Int
    /// Addresses and CIDR blocks the per-address limit does not apply to (`connectionLimitExempt`, default
    /// loopback). On the client port the trusted proxies are exempt too (see
    /// ``PushinatorConfiguration/clientConnectionLimitExemptions``).
    public var connectionLimitExempt: [AddressRange]
    /// How long a client may leave its answers unread before it is closed, in milliseconds (`writeTimeout`,
    /// default 30000).
    public var writeTimeoutMilliseconds: Int
    /// The HTTP answers queued for a client past which its connection stops reading (`maxQueuedResponseBytes`,
    /// default 65536).
    public var maxQueuedResponseBytes: Int
    /// The bytes queued for one Socket.IO client (WebSocket frames or polling packets) past which it is
    /// disconnected (`maxBufferedBytes`, default 4 MiB). Client port only.
    public var maxBufferedBytes: Int
    /// The largest Engine.IO message or polling body (`maxPayload`, default 1000000). Client port only.
    public var maxPayload: Int
    /// The most bytes one connection's unfinished binary packet may hold (`maxPendingBinaryBytes`, default 8 MiB).
    public var maxPendingBinaryBytes: Int
    /// The most bytes the unfinished binary packets of all connections may hold (`maxPendingBinaryBytesTotal`,
    /// default 64 MiB).
    public var maxPendingBinaryBytesTotal: Int
    /// How long a binary packet may wait for its attachments, in milliseconds (`binaryAttachmentTimeout`, default
    /// 30000).
    public var binaryAttachmentTimeoutMilliseconds: Int
    /// How long a WebSocket client may stay behind (over ``maxBufferedBytes``) before it is closed, in milliseconds
    /// (`webSocketWriteTimeout`, default 30000). Client port only.
    public var webSocketWriteTimeoutMilliseconds: Int
    /// How long a WebSocket peer has to answer the server's close frame, in milliseconds (`webSocketCloseTimeout`,
    /// default 3000). Client port only.
    public var webSocketCloseTimeoutMilliseconds: Int

    /// Reads the limits of `section` (`client` or `admin`); the Socket.IO ones only for `client`.
    /// - Throws: ``ConfigError`` naming the key for a value of the wrong type or range, or an exempt entry that is
    ///   not an address or CIDR block.
    public init(document: ConfigDocument, section: String) throws(ConfigError) {
        maxConnectionsPerAddress = try document.int("\(section).maxConnectionsPerAddress", default: 1000, in: 0...1_000_000)
        let exempt = try document.stringArray("\(section).connectionLimitExempt", default: ["127.0.0.0/8", "::1"])
        connectionLimitExempt = []
        for entry in exempt {
            guard let range = AddressRange(entry) else {
                throw ConfigError(
                    source: document.source,
                    message: "\(section).connectionLimitExempt: '\(entry)' is not an IP address or CIDR block"
                )
            }
            connectionLimitExempt.append(range)
        }
        writeTimeoutMilliseconds = try document.int("\(section).writeTimeout", default: 30_000, in: 100...3_600_000)
        maxQueuedResponseBytes = try document.int("\(section).maxQueuedResponseBytes", default: 64 << 10, in: 1024...(1 << 30))
        guard section == "client" else {
            maxBufferedBytes = 4 << 20
            maxPayload = 1_000_000
            maxPendingBinaryBytes = 8 << 20
            maxPendingBinaryBytesTotal = 64 << 20
            binaryAttachmentTimeoutMilliseconds = 30_000
            webSocketWriteTimeoutMilliseconds = 30_000
            webSocketCloseTimeoutMilliseconds = 3_000
            return
        }
        maxBufferedBytes = try document.int("client.maxBufferedBytes", default: 4 << 20, in: 1024...(1 << 34))
        maxPayload = try document.int("client.maxPayload", default: 1_000_000, in: 1024...(1 << 30))
        maxPendingBinaryBytes = try document.int("client.maxPendingBinaryBytes", default: 8 << 20, in: 0...(1 << 40))
        maxPendingBinaryBytesTotal = try document.int(
            "client.maxPendingBinaryBytesTotal",
            default: 64 << 20,
            in: 0...(1 << 50)
        )
        binaryAttachmentTimeoutMilliseconds = try document.int(
            "client.binaryAttachmentTimeout",
            default: 30_000,
            in: 100...3_600_000
        )
        webSocketWriteTimeoutMilliseconds = try document.int(
            "client.webSocketWriteTimeout",
            default: 30_000,
            in: 100...3_600_000
        )
        webSocketCloseTimeoutMilliseconds = try document.int(
            "client.webSocketCloseTimeout",
            default: 3_000,
            in: 100...600_000
        )
    }
}
