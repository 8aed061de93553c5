/// An event handler received arguments it cannot use.
public struct SocketIOEventError: Error, Sendable, CustomStringConvertible {
    /// What was wrong.
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
