#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
public import EngineIO
public import PushinatorHTTP
import PushinatorJSON
public import PushinatorRuntime

/// The settings of a pushinator server, read from node pushinator's configuration format.
///
/// Every key has the default node pushinator used, except that the admin port listens on 127.0.0.1 only.
/// See `Documentation/configuration.md` for the full reference.
public struct PushinatorConfiguration: Sendable, Equatable {
    /// Where the daemon writes its pid (a directory means `pushinator.pid` inside it).
    public var pidFile: String
    /// Whether the file or the environment names the pidfile: the foreground mode then writes it too.
    public var pidFileIsSet: Bool
    /// Event-loop threads serving both ports; 0 means one per processor the process may run on.
    public var threads: Int
    /// The admin API's address.
    public var adminHost: String
    /// The admin API's port.
    public var adminPort: Int
    /// A bearer token the admin API requires, or `nil` for none.
    public var adminToken: String?
    /// Origins whose browser pages may call the admin API; any other `Origin` is refused.
    public var adminAllowedOrigins: [String]
    /// Serve Prometheus metrics at `GET /metrics` on the admin listener (`admin.metrics`, default `true`); `false`
    /// makes no metric handles, skips the per-request admin timing, and `/metrics` answers 404.
    public var adminMetrics: Bool
    /// The client (Socket.IO) address.
    public var clientHost: String
    /// The client (Socket.IO) port.
    public var clientPort: Int
    /// The transports clients may use, in the order `client.socketIoTransports` names them.
    public var transports: [EngineIOTransport]
    /// Serve the client port over TLS.
    public var useSSL: Bool
    /// The TLS private key (PEM).
    public var sslKey: String
    /// The TLS certificate chain (PEM).
    public var sslCert: String
    /// How `message` payloads are sent: `json-string` (JSON.stringify, as node pushinator) or `raw`.
    public var messageEncoding: MessageEncoding
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers name the client's address (`client.trustedProxies`).
    public var trustedProxies: TrustedProxies
    /// Origins whose pages may connect; empty means any.
    public var clientCORS: [String]
    /// Forget users with no connection for this many seconds; 0 keeps them until unregistered.
    public var usersIdleTimeout: Int
    /// Where registered users and offline queues are kept (`users.store`).
    public var usersStore: UserStoreLocation
    /// The offline queue's limits (`users.offlineQueue`).
    public var offlineQueue: OfflineQueue.Limits
    /// How long a disconnected client's session is kept for connection state recovery, in milliseconds
    /// (`client.recovery.maxDisconnectionDuration`); 0 turns recovery off.
    public var recoveryMaxDisconnection: Int
    /// The most messages kept for connection state recovery (`client.recovery.maxMessages`, default 10,000).
    public var recoveryMaxMessages: Int
    /// The most bytes of messages and sessions kept for connection state recovery (`client.recovery.maxBytes`,
    /// default 64 MiB).
    public var recoveryMaxBytes: Int
    /// The most disconnected sessions kept for connection state recovery (`client.recovery.maxSessions`, default
    /// 100,000).
    public var recoveryMaxSessions: Int
    /// Several nodes on one PostgreSQL (`cluster`); `nil` (the default) for a single node.
    public var cluster: ClusterSettings?
    /// Log debug lines.
    public var debug: Bool
    /// Also log to syslog.
    public var syslogEnabled: Bool
    /// The syslog tag.
    public var syslogTag: String
    /// The syslog facility name (`LOG_DAEMON`, `LOG_USER`, `LOG_LOCAL0`...).
    public var syslogFacility: SyslogFacility
    /// A syslog socket to send to instead of syslog(3)'s `/dev/log`; `nil` for syslog(3).
    public var syslogPath: String?
    /// Also append log lines to this file.
    public var logFile: String?
    /// The process-wide memory budget in bytes for what clients make the server hold (`limits.memoryBudget`);
    /// 0 means no limit.
    public var memoryBudget: Int
    /// The connection limits of the client port (`client.maxConnectionsPerAddress`, `client.connectionLimitExempt`,
    /// `client.writeTimeout`, `client.maxQueuedResponseBytes`, `client.maxBufferedBytes`, `client.maxPayload`,
    /// `client.maxPendingBinaryBytes`, `client.maxPendingBinaryBytesTotal`, `client.binaryAttachmentTimeout`).
    public var clientLimits: ConnectionLimits
    /// The connection limits of the admin port (`admin.maxConnectionsPerAddress`, `admin.connectionLimitExempt`).
    public var adminLimits: ConnectionLimits
    /// Warnings about keys that were accepted but have no effect (for the log).
    public var warnings: [String]

    /// How `message` payloads are encoded.
    public enum MessageEncoding: String, Sendable, Equatable {
        /// `JSON.stringify(message)`: clients call `JSON.parse` (node pushinator's behaviour).
        case jsonString = "json-string"
        /// The JSON value itself.
        case raw
    }

    /// The embedded defaults (used when no configuration file exists).
    public static var defaults: PushinatorConfiguration {
        // The empty document yields every default.
        try! PushinatorConfiguration(document: ConfigDocument(root: .object([:]), source: "embedded defaults"))
    }

    /// Reads the settings from `document`; a wrong type or value throws an error naming the key and the file.
    public init(document: ConfigDocument) throws(ConfigError) {
        var warnings: [String] = []
        pidFile = try document.string("pidfile", default: "/var/run/pushinator.pid")
        pidFileIsSet = document.contains("pidfile")
        if Self.namesDirectory(pidFile) {
            let directory = pidFile.hasSuffix("/") ? String(pidFile.dropLast()) : pidFile
            warnings.append("pidfile '\(pidFile)' is a directory: using \(directory)/pushinator.pid")
            pidFile = directory + "/pushinator.pid"
        }
        threads = try document.int("threads", default: 0, in: 0...1024)
        adminHost = try document.host("admin.host", default: "127.0.0.1")
        adminPort = try document.int("admin.port", default: 9600, in: 0...65535)
        adminToken = try document.string("admin.token").flatMap { $0.isEmpty ? nil : $0 }
        adminAllowedOrigins = try document.stringArray("admin.allowedOrigins", default: [])
        adminMetrics = try document.bool("admin.metrics", default: true)
        clientHost = try document.host("client.host", default: "0.0.0.0")
        clientPort = try document.int("client.port", default: 9601, in: 0...65535)
        useSSL = try document.bool("client.useSSL", default: false)
        sslKey = try document.string("client.sslKey", default: "")
        sslCert = try document.string("client.sslCert", default: "")
        clientCORS = try document.stringArray("client.cors", default: [])
        let proxies = try document.stringArray("client.trustedProxies", default: [])
        do {
            trustedProxies = try TrustedProxies(proxies)
        } catch {
            throw ConfigError(source: document.source, message: "client.trustedProxies: \(error)")
        }
        messageEncoding = try document.parsed(
            "client.messageEncoding",
            default: .jsonString,
            expected: "'json-string' or 'raw'"
        ) { MessageEncoding(rawValue: $0) }
        usersIdleTimeout = try document.int("users.idleTimeout", default: 0, in: 0...(365 * 86_400))
        usersStore = try document.parsed(
            "users.store",
            default: .memory,
            expected: "'memory', 'sqlite:' followed by an absolute file path, 'postgres' or a postgres:// URL"
        ) { UserStoreLocation($0) }
        offlineQueue = OfflineQueue.Limits(
            maxPerUser: try document.int("users.offlineQueue.max", default: 100, in: 0...100_000),
            ttlMilliseconds: Int64(try document.int("users.offlineQueue.ttl", default: 60_000, in: 0...(30 * 86_400_000))),
            maxBytes: try document.int("users.offlineQueue.maxBytes", default: 64 << 20, in: 0...(1 << 40))
        )
        recoveryMaxDisconnection = try document.int(
            "client.recovery.maxDisconnectionDuration",
            default: 120_000,
            in: 0...86_400_000
        )
        recoveryMaxMessages = try document.int("client.recovery.maxMessages", default: 10_000, in: 1...10_000_000)
        recoveryMaxBytes = try document.int("client.recovery.maxBytes", default: 64 << 20, in: 1024...(1 << 40))
        recoveryMaxSessions = try document.int("client.recovery.maxSessions", default: 100_000, in: 1...10_000_000)
        cluster = try Self.clusterSettings(document)
        if usersStore == .postgres(url: nil) && cluster == nil {
            throw ConfigError(
                source: document.source,
                message: "users.store 'postgres' uses the cluster's database, but cluster.postgres is not set (set it, or give users.store its own postgres:// URL)"
            )
        }
        debug = try document.bool("log.debug", default: false)
        syslogEnabled = try document.bool("log.syslog.enable", default: false)
        syslogTag = try document.string("log.syslog.tag", default: "pushinator")
        syslogFacility = try document.syslogFacility("log.syslog.facility", default: .daemon)
        syslogPath = try document.string("log.syslog.path").flatMap { $0.isEmpty ? nil : $0 }
        logFile = try document.string("log.file").flatMap { $0.isEmpty ? nil : $0 }
        memoryBudget = try document.int("limits.memoryBudget", default: 1 << 30, in: 0...(1 << 50))
        clientLimits = try ConnectionLimits(document: document, section: "client")
        adminLimits = try ConnectionLimits(document: document, section: "admin")

        let legacy = try document.stringArray(
            "client.socketIoTransports",
            default: ["websocket", "xhr-polling"]
        )
        var transports: [EngineIOTransport] = []
        for name in legacy {
            switch name {
            case "websocket":
                if !transports.contains(.websocket) { transports.append(.websocket) }
            case "xhr-polling", "jsonp-polling", "polling":
                if !transports.contains(.polling) { transports.append(.polling) }
            case "flashsocket", "htmlfile":
                warnings.append("client.socketIoTransports: '\(name)' no longer exists and is ignored")
            default:
                throw ConfigError(
                    source: document.source,
                    message: "client.socketIoTransports has an unknown transport '\(name)' "
                        + "(expected websocket, xhr-polling, jsonp-polling or polling)"
                )
            }
        }
        guard !transports.isEmpty else {
            throw ConfigError(source: document.source, message: "client.socketIoTransports names no usable transport")
        }
        self.transports = transports
        if useSSL, sslKey.isEmpty || sslCert.isEmpty {
            throw ConfigError(source: document.source, message: "client.useSSL needs client.sslKey and client.sslCert")
        }
        // node pushinator's syslog hostname has no equivalent (syslog(3) writes to the local socket)
        for unknown in document.unknownKeys(ignoring: ["log.syslog.hostname"]) { warnings.append("\(unknown)") }
        self.warnings = warnings
    }

    /// The `cluster` section: every key is checked (so that a template with `postgres: ''` has no unknown keys),
    /// and settings exist only when `cluster.postgres` names a database.
    static func clusterSettings(_ document: ConfigDocument) throws(ConfigError) -> ClusterSettings? {
        let url = try document.string("cluster.postgres", default: "")
        guard url.isEmpty || url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw ConfigError(source: document.source, message: "cluster.postgres must be a postgres:// URL")
        }
        let prefix = try document.string("cluster.channelPrefix", default: "socket.io")
        guard !prefix.isEmpty, prefix.utf8.count <= 40 else {
            throw ConfigError(source: document.source, message: "cluster.channelPrefix must be 1 to 40 bytes")
        }
        let nodeName = try document.string("cluster.nodeName").flatMap { $0.isEmpty ? nil : $0 }
        let timeout = try document.int("cluster.timeout", default: 5_000, in: 1...600_000)
        let interval = try document.int("cluster.heartbeatInterval", default: 5_000, in: 100...600_000)
        let heartbeatTimeout = try document.int("cluster.heartbeatTimeout", default: 10_000, in: 200...600_000)
        let maxBusLag = try document.int("cluster.maxBusLag", default: 5_000, in: 1...600_000)
        let waitForLog = try document.bool("cluster.waitForLog", default: false)
        guard heartbeatTimeout > interval else {
            throw ConfigError(source: document.source, message: "cluster.heartbeatTimeout must be longer than cluster.heartbeatInterval")
        }
        let advertise = try document.string("cluster.advertise").flatMap { $0.isEmpty ? nil : $0 }
        if let advertise, !ClusterSettings.isValidAdvertise(advertise) {
            throw ConfigError(
                source: document.source,
                message: "cluster.advertise must be http://host:port, host:port or a host (not a wildcard such as 0.0.0.0)"
            )
        }
        guard !url.isEmpty else { return nil }
        return ClusterSettings(
            postgres: url,
            channelPrefix: prefix,
            nodeName: nodeName,
            timeout: timeout,
            heartbeatInterval: interval,
            heartbeatTimeout: heartbeatTimeout,
            advertise: advertise,
            maxBusLag: maxBusLag,
            waitForLog: waitForLog
        )
    }

    /// Whether `path` ends with `/` or names an existing directory.
    static func namesDirectory(_ path: String) -> Bool {
        path.hasSuffix("/") || access(path + "/.", F_OK) == 0
    }
}
