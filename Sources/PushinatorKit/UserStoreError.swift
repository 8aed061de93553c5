/// A store write that failed, or a store that could not be opened.
public struct UserStoreError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, for the log and the admin API's JSON error.
    public let message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
