public import Logging
public import PushinatorRuntime

/// Where pushinator logs, and at which level (`debug`, `log.*`).
extension PushinatorConfiguration {
    /// The level `debug` names: `.debug` when set, `.info` otherwise.
    public var logLevel: Logger.Level { debug ? .debug : .info }

    /// Where the logs go: standard output (unless the process is a detached daemon), syslog with
    /// `log.syslog.enable`, and the file `log.file` names.
    /// - Parameter standardOutput: Whether to log to standard output (the foreground mode).
    public func logDestination(standardOutput: Bool) -> LogDestination {
        var destinations: [LogDestination] = standardOutput ? [.standardOutput] : []
        if syslogEnabled { destinations.append(.syslog(tag: syslogTag, facility: syslogFacility, socketPath: syslogPath)) }
        if let logFile { destinations.append(.file(logFile)) }
        return .all(destinations)
    }
}
