public import PushinatorJSON

/// An event a client emitted: its name, its arguments, and the acknowledgement it may be waiting for.
public struct SocketIOEvent: Sendable {
    /// The event name.
    public let name: String
    /// The arguments after the name (binary attachments are `.binary` values).
    public let arguments: [JSONValue]
    let acknowledge: (@Sendable ([JSONValue]) -> Void)?

    /// Creates an event; the server does this, tests may too.
    public init(name: String, arguments: [JSONValue], acknowledge: (@Sendable ([JSONValue]) -> Void)? = nil) {
        self.name = name
        self.arguments = arguments
        self.acknowledge = acknowledge
    }

    /// Whether the client passed a callback and waits for ``ack(_:)``.
    public var wantsAck: Bool { acknowledge != nil }

    /// Answers the client's callback with `arguments`; only the first call counts.
    public func ack(_ arguments: [JSONValue]) { acknowledge?(arguments) }

    /// Answers the client's callback.
    public func ack(_ arguments: JSONValue...) { ack(arguments) }

    /// The argument at `index` decoded as `T`; a missing or mistyped argument throws a message that says which.
    public func argument<T: Decodable>(_ index: Int = 0, as type: T.Type = T.self) throws -> T {
        guard arguments.indices.contains(index) else {
            throw SocketIOEventError("event '\(name)' needs an argument at position \(index)")
        }
        do {
            return try arguments[index].decode(as: T.self)
        } catch {
            throw SocketIOEventError("event '\(name)' argument \(index) is not a valid \(T.self): \(error)")
        }
    }
}
