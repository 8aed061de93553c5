public import Logging

/// Where an application's logs go: standard output or error, syslog, a file, nowhere, or several of these.
///
/// ```swift
/// // node pushinator's `log.syslog.enable: true`: both the console and syslog.
/// let destination = LogDestination.all([.standardOutput, .syslog(tag: "pushinator", facility: .local0)])
/// try destination.bootstrap(logLevel: debug ? .debug : .info)
/// ```
public struct LogDestination: Sendable {
    enum Kind: Sendable {
        case standardOutput
        case standardError
        case syslog(tag: String, facility: SyslogFacility, socketPath: String?)
        case file(path: String)
        case all([LogDestination])
    }

    let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// Standard output, in swift-log's `StreamLogHandler` format.
    public static var standardOutput: Self { .init(.standardOutput) }
    /// Standard error, in swift-log's `StreamLogHandler` format.
    public static var standardError: Self { .init(.standardError) }
    /// syslog(3), through ``SyslogLogHandler``.
    /// - Parameters:
    ///   - tag: The syslog tag, such as `pushinator`.
    ///   - facility: The facility.
    ///   - socketPath: A syslog socket to send to instead of syslog(3)'s `/dev/log`; `nil` for syslog(3).
    /// - Returns: The destination.
    public static func syslog(tag: String, facility: SyslogFacility = .daemon, socketPath: String? = nil) -> Self {
        .init(.syslog(tag: tag, facility: facility, socketPath: socketPath))
    }
    /// A file, appended to through ``FileLogHandler``.
    /// - Parameter path: The log file.
    /// - Returns: The destination.
    public static func file(_ path: String) -> Self { .init(.file(path: path)) }
    /// Nowhere: every message is dropped.
    public static var nowhere: Self { .init(.all([])) }
    /// Every one of `destinations`.
    /// - Parameter destinations: The destinations; none means nowhere.
    /// - Returns: The destination.
    public static func all(_ destinations: [LogDestination]) -> Self { .init(.all(destinations)) }

    /// Makes a handler factory for `LoggingSystem.bootstrap`, opening any log files now, once.
    /// - Parameter logLevel: The level every handler starts with.
    /// - Returns: A factory from label and metadata provider to handler.
    /// - Throws: ``LogDestinationError`` when a log file cannot be opened.
    public func makeFactory(
        logLevel: Logger.Level
    ) throws(LogDestinationError) -> @Sendable (String, Logger.MetadataProvider?) -> any LogHandler {
        try open(logLevel: logLevel).factory
    }

    /// Opens the destination: a handler factory for `LoggingSystem.bootstrap`, and the log files it writes to.
    /// Every handler escapes control characters and truncates long values (``LogSanitizer/standard``).
    ///
    /// Keep the files to reopen them when the process gets SIGHUP after logrotate renamed them:
    /// ```swift
    /// let opened = try LogDestination.all([.standardOutput, .file("/var/log/app.log")]).open(logLevel: .info)
    /// LoggingSystem.bootstrap(opened.factory)
    /// // on SIGHUP:
    /// opened.reopenFiles()
    /// ```
    /// - Parameter logLevel: The level every handler starts with.
    /// - Returns: The factory and the files, opened now, once.
    /// - Throws: ``LogDestinationError`` when a log file cannot be opened.
    public func open(logLevel: Logger.Level) throws(LogDestinationError) -> OpenedLogDestination {
        var files: [LogFile] = []
        let makers = try handlerMakers(files: &files)
        let factory: @Sendable (String, Logger.MetadataProvider?) -> any LogHandler = { label, provider in
            var handler: any LogHandler
            switch makers.count {
            case 0: handler = SwiftLogNoOpLogHandler(label)
            case 1: handler = makers[0](label, provider)
            default: handler = MultiplexLogHandler(makers.map { $0(label, provider) }, metadataProvider: provider)
            }
            handler.logLevel = logLevel
            return handler
        }
        return OpenedLogDestination(factory: LogSanitizer.standard.wrapping(factory), files: files)
    }

    /// Bootstraps swift-log with this destination. `LoggingSystem.bootstrap` may run once per process.
    /// - Parameters:
    ///   - logLevel: The level every handler starts with.
    ///   - metadataProvider: Supplies contextual metadata to every handler.
    /// - Throws: ``LogDestinationError`` when a log file cannot be opened.
    public func bootstrap(
        logLevel: Logger.Level,
        metadataProvider: Logger.MetadataProvider? = nil
    ) throws(LogDestinationError) {
        LoggingSystem.bootstrap(try makeFactory(logLevel: logLevel), metadataProvider: metadataProvider)
    }

    private typealias Maker = @Sendable (String, Logger.MetadataProvider?) -> any LogHandler

    private func handlerMakers(files: inout [LogFile]) throws(LogDestinationError) -> [Maker] {
        switch kind {
        case .standardOutput:
            return [{ StreamLogHandler.standardOutput(label: $0, metadataProvider: $1) }]
        case .standardError:
            return [{ StreamLogHandler.standardError(label: $0, metadataProvider: $1) }]
        case .syslog(let tag, let facility, nil):
            return [{ SyslogLogHandler(label: $0, tag: tag, facility: facility, metadataProvider: $1) }]
        case .syslog(let tag, let facility, let socketPath?):
            return [{ SyslogLogHandler(label: $0, tag: tag, facility: facility, socketPath: socketPath, metadataProvider: $1) }]
        case .file(let path):
            let file = try LogFile(path: path)
            files.append(file)
            return [{ FileLogHandler(label: $0, file: file, metadataProvider: $1) }]
        case .all(let destinations):
            var makers: [Maker] = []
            for destination in destinations { makers += try destination.handlerMakers(files: &files) }
            return makers
        }
    }
}
