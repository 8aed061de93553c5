public import PushinatorJSON

/// An event the server sent to a ``SocketIOTestClient``.
public struct SocketIOTestEvent: Sendable, Hashable {
    /// The event name.
    public var name: String
    /// The arguments after the name; binary attachments are ``PushinatorJSON/JSONValue/binary(_:)`` values.
    public var arguments: [JSONValue]
    /// The acknowledgement id when the server awaits an answer (see ``SocketIOTestClient/ack(_:_:)``).
    public var ackID: Int?

    /// Creates an event.
    public init(name: String, arguments: [JSONValue], ackID: Int? = nil) {
        self.name = name
        self.arguments = arguments
        self.ackID = ackID
    }

    /// The event as the packet carries it: the name, then the arguments (`["news", "hello"]`).
    public var data: [JSONValue] { [.string(name)] + arguments }

    /// Whether the server awaits an acknowledgement.
    public var wantsAck: Bool { ackID != nil }
}
