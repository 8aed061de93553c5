public import PushinatorJSON

/// An event a client emitted: its name, its arguments, and the acknowledgement it may be waiting for.
public struct SocketIOEvent: Sendable {
    /// The event name.
    public let name: String
    /// The arguments after the name (binary attachments are `.binary` values).
    public let arguments: [JSONValue]
    let acknowledge: (@Sendable (Answer) -> Void)?

    /// What an acknowledgement answers with.
    enum Answer: Sendable {
        case arguments([JSONValue])
        case encoded(EncodedAckArguments)

        var arguments: [JSONValue] {
            switch self {
            case .arguments(let arguments): arguments
            case .encoded(let encoded): encoded.arguments
            }
        }
    }

    /// Creates an event; the server does this, tests may too.
    public init(name: String, arguments: [JSONValue], acknowledge: (@Sendable ([JSONValue]) -> Void)? = nil) {
        self.name = name
        self.arguments = arguments
        if let acknowledge {
            self.acknowledge = { @Sendable (answer: Answer) in acknowledge(answer.arguments) }
        } else {
            self.acknowledge = nil
        }
    }

    /// Creates an event whose acknowledgement gets the answer as it was given (encoded or not).
    init(name: String, arguments: [JSONValue], answer: (@Sendable (Answer) -> Void)?) {
        self.name = name
        self.arguments = arguments
        self.acknowledge = answer
    }

    /// Whether the client passed a callback and waits for ``ack(_:)-([JSONValue])``.
    public var wantsAck: Bool { acknowledge != nil }

    /// Answers the client's callback with `arguments`; only the first call counts.
    public func ack(_ arguments: [JSONValue]) { acknowledge?(.arguments(arguments)) }

    /// Answers the client's callback with arguments encoded once (the same bytes as ``ack(_:)-([JSONValue])`` of
    /// `encoded.arguments`); only the first call counts.
    public func ack(_ encoded: EncodedAckArguments) { acknowledge?(.encoded(encoded)) }

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
