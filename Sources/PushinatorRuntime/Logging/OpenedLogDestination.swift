public import Logging

/// A ``LogDestination`` once opened: the handler factory and the log files behind it.
public struct OpenedLogDestination: Sendable {
    /// The handler factory for `LoggingSystem.bootstrap`.
    public let factory: @Sendable (String, Logger.MetadataProvider?) -> any LogHandler
    /// The log files the handlers append to, in the order the destinations name them.
    public let files: [LogFile]

    /// Reopens every log file (after rotation); a file that cannot be reopened keeps its old descriptor.
    /// - Returns: The errors, one per file that could not be reopened.
    @discardableResult
    public func reopenFiles() -> [LogDestinationError] {
        var errors: [LogDestinationError] = []
        for file in files {
            do { try file.reopen() } catch { errors.append(error) }
        }
        return errors
    }
}
