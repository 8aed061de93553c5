public import Logging

/// A server process's logging: one destination (``LogDestination``), a level that can change while the process runs
/// (``LogLevelControl``) and the last warnings kept for a status page (``RecentWarnings``).
///
/// ```swift
/// let logging = try ProcessLogging(destination: .all([.standardOutput, .file("/var/log/app.log")]), level: .info)
/// logging.bootstrap()                          // once per process
/// logging.level.level = .debug                 // on reload: every logger follows
/// logging.reopenFiles(logger: logger)          // on SIGHUP, after logrotate renamed the file
/// ```
public struct ProcessLogging: Sendable {
    /// The level every handler uses now.
    public let level: LogLevelControl
    /// The last warnings and errors logged (bounded: ``RecentWarnings/capacity``).
    public let warnings: RecentWarnings
    /// The opened destination (its handler factory and log files).
    public let destination: OpenedLogDestination

    /// Opens `destination` (its log files) at `level`.
    /// - Parameters:
    ///   - destination: Where the logs go.
    ///   - level: The level to start at.
    ///   - warnings: Where the last warnings are kept.
    /// - Throws: ``LogDestinationError`` when a log file cannot be opened.
    public init(destination: LogDestination, level: Logger.Level, warnings: RecentWarnings = RecentWarnings()) throws(LogDestinationError) {
        self.level = LogLevelControl(level)
        self.warnings = warnings
        // the destination's handlers pass everything: the control decides
        self.destination = try destination.open(logLevel: .trace)
    }

    /// The handler factory: every handler writes to the destination and to ``warnings``, at ``level``'s level.
    public var factory: @Sendable (String, Logger.MetadataProvider?) -> any LogHandler {
        let (destination, warnings) = (destination, warnings)
        return level.wrapping { label, provider in
            MultiplexLogHandler([destination.factory(label, provider), warnings.handler(label: label)])
        }
    }

    /// Bootstraps swift-log with ``factory``; `LoggingSystem.bootstrap` may run once per process.
    public func bootstrap() {
        LoggingSystem.bootstrap(factory, metadataProvider: nil)
    }

    /// Reopens the log files (after logrotate renamed them: a new file starts under each name); a file that
    /// cannot be reopened keeps its old descriptor and is logged as an error.
    /// - Parameter logger: Where the errors go.
    public func reopenFiles(logger: Logger) {
        for error in destination.reopenFiles() {
            logger.error("cannot reopen the log file", metadata: ["error.message": "\(error)"])
        }
    }
}
