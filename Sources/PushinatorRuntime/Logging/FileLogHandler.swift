public import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A swift-log `LogHandler` that appends one line per message to a ``LogFile``.
///
/// Lines read `2025-01-31T12:00:00+0100 info pushinator.client: socket joined room sio.room=news`: local
/// time, level, label, message, then metadata as ` key=value` pairs sorted by key.
///
/// ```swift
/// let file = try LogFile(path: "/var/log/pushinator.log")
/// LoggingSystem.bootstrap { label in FileLogHandler(label: label, file: file) }
/// ```
public struct FileLogHandler: MetadataRenderingLogHandler {
    /// The logger's label.
    public let label: String
    /// The file lines go to.
    public let file: LogFile
    /// The level below which messages are dropped.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every message.
    public var metadata: Logger.Metadata = [:]
    /// Supplies contextual metadata for every message.
    public var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler.
    /// - Parameters:
    ///   - label: The logger's label.
    ///   - file: The file to append to.
    ///   - metadataProvider: Supplies contextual metadata; the system's by default.
    public init(
        label: String,
        file: LogFile,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.file = file
        self.metadataProvider = metadataProvider
    }

    /// Appends the event as one line.
    func write(_ event: LogEvent, metadataSuffix suffix: String) {
        file.append("\(Self.timestamp()) \(event.level) \(label): \(event.message)\(suffix)")
    }

    /// The local time as `YYYY-MM-DDTHH:MM:SS+HHMM`.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
