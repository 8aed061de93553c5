public import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A swift-log `LogHandler` that writes through syslog(3).
///
/// syslog(3) is process-global: the first handler created calls `openlog(3)` with its tag (and `LOG_PID`);
/// a later handler with another tag reopens the log with that tag for the whole process. The facility is sent
/// with each message, so handlers may differ in facility. Levels map to priorities: `trace` and `debug` to
/// `LOG_DEBUG`, `info` to `LOG_INFO`, `notice` to `LOG_NOTICE`, `warning` to `LOG_WARNING`, `error` to
/// `LOG_ERR`, `critical` to `LOG_CRIT`. Metadata follows the message as ` key=value` pairs sorted by key.
///
/// ```swift
/// LoggingSystem.bootstrap { label in
///     SyslogLogHandler(label: label, tag: "pushinator", facility: .local0)
/// }
/// ```
public struct SyslogLogHandler: MetadataRenderingLogHandler {
    /// The logger's label; not written to syslog.
    public let label: String
    /// The tag syslog(3) prefixes messages with.
    public let tag: String
    /// The facility messages are sent with.
    public let facility: SyslogFacility
    /// The level below which messages are dropped.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every message.
    public var metadata: Logger.Metadata = [:]
    /// Supplies contextual metadata for every message.
    public var metadataProvider: Logger.MetadataProvider?

    private let send: @Sendable (_ priority: Int32, _ text: String) -> Void

    /// Creates a handler that writes to syslog(3), opening the log with `tag` if needed.
    /// - Parameters:
    ///   - label: The logger's label.
    ///   - tag: The syslog tag, such as `pushinator`.
    ///   - facility: The facility, such as ``SyslogFacility/local0``.
    ///   - metadataProvider: Supplies contextual metadata; the system's by default.
    public init(
        label: String,
        tag: String,
        facility: SyslogFacility,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        SystemLog.open(tag: tag)
        self.init(label: label, tag: tag, facility: facility, metadataProvider: metadataProvider) { priority, text in
            SystemLog.write(priority: priority, text)
        }
    }

    /// Creates a handler that sends to the unix datagram socket at `socketPath` instead of syslog(3) (which always
    /// writes to `/dev/log`), in syslog(3)'s format: `<PRI>Mmm dd hh:mm:ss tag[pid]: message`. Messages are dropped
    /// when the path is too long for a socket address or nothing listens there.
    /// - Parameters:
    ///   - label: The logger's label.
    ///   - tag: The syslog tag, such as `pushinator`.
    ///   - facility: The facility, such as ``SyslogFacility/local0``.
    ///   - socketPath: The syslog socket, such as `/run/systemd/journal/syslog`.
    ///   - metadataProvider: Supplies contextual metadata; the system's by default.
    public init(
        label: String,
        tag: String,
        facility: SyslogFacility,
        socketPath: String,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        let socket = SyslogSocket(path: socketPath)
        self.init(label: label, tag: tag, facility: facility, metadataProvider: metadataProvider) { priority, text in
            socket?.send(priority: priority, tag: tag, text)
        }
    }

    /// Creates a handler that hands each formatted message to `send` instead of syslog(3); for tests.
    init(
        label: String,
        tag: String,
        facility: SyslogFacility,
        metadataProvider: Logger.MetadataProvider?,
        send: @escaping @Sendable (_ priority: Int32, _ text: String) -> Void
    ) {
        self.label = label
        self.tag = tag
        self.facility = facility
        self.metadataProvider = metadataProvider
        self.send = send
    }

    /// Sends the event to syslog.
    func write(_ event: LogEvent, metadataSuffix suffix: String) {
        send(facility.code | Self.priority(for: event.level), event.message.description + suffix)
    }

    /// The syslog priority for a swift-log level.
    /// - Parameter level: The level.
    /// - Returns: `LOG_DEBUG` ... `LOG_CRIT`.
    public static func priority(for level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: LOG_DEBUG
        case .info: LOG_INFO
        case .notice: LOG_NOTICE
        case .warning: LOG_WARNING
        case .error: LOG_ERR
        case .critical: LOG_CRIT
        }
    }
}

/// The process-global syslog(3) connection.
enum SystemLog {
    /// The tag `openlog(3)` was last called with; its C string is kept alive for as long as the process.
    private static let openedTag = Mutex<String?>(nil)

    /// Calls `openlog(3)` unless it was already called with this tag.
    static func open(tag: String) {
        openedTag.withLock { opened in
            guard opened != tag else { return }
            // openlog keeps the pointer: the copy is never freed (one small string per distinct tag).
            openlog(strdup(tag), LOG_PID | LOG_NDELAY, LOG_USER)
            opened = tag
        }
    }

    /// Writes one message with `%s`, so that `%` in the text is never a format directive.
    static func write(priority: Int32, _ text: String) {
        text.withCString { pointer in
            withVaList([pointer]) { vsyslog(priority, "%s", $0) }
        }
    }
}
