/// A log destination could not be set up: an unknown syslog facility, or a log file that cannot be opened.
public struct LogDestinationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// Creates an error.
    /// - Parameter message: What went wrong.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
