/// A configuration that cannot be used: pushinator says it on stderr and exits with code 6 (LSB "program is not
/// configured").
public struct ConfigurationFailure: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, naming the file or key.
    public let message: String

    /// Creates a failure saying `message`.
    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}
