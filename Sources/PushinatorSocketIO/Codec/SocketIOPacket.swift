public import PushinatorJSON

/// A Socket.IO v5 packet: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]`.
///
/// Binary data travels as ``JSONValue/binary(_:)`` values anywhere inside ``data``; the encoder turns them
/// into attachments and the decoder puts them back.
///
/// ```swift
/// let packet = SocketIOPacket.event("hello", ["world"], namespace: "/chat")
/// var buffer = ByteBuffer(string: "4")        // the Engine.IO message prefix
/// let attachments = packet.encode(into: &buffer)  // 42/chat,["hello","world"]
/// ```
public struct SocketIOPacket: Sendable, Hashable {
    /// The packet type.
    public var type: SocketIOPacketType
    /// The namespace, `"/"` for the main one.
    public var namespace: String
    /// The acknowledgement id, when the sender expects (or this is) an acknowledgement.
    public var ackID: Int?
    /// The JSON payload, absent when the packet has none.
    public var data: JSONValue?

    /// Creates a packet.
    /// - Parameters:
    ///   - type: The packet type.
    ///   - namespace: The namespace, `"/"` by default.
    ///   - ackID: The acknowledgement id, if any.
    ///   - data: The payload, if any.
    public init(type: SocketIOPacketType, namespace: String = "/", ackID: Int? = nil, data: JSONValue? = nil) {
        self.type = type
        self.namespace = namespace
        self.ackID = ackID
        self.data = data
    }

    /// An EVENT packet whose data is `[name, arguments...]`.
    /// - Parameters:
    ///   - name: The event name.
    ///   - arguments: The event arguments.
    ///   - namespace: The namespace.
    ///   - ackID: The acknowledgement id when the sender wants a reply.
    /// - Returns: The packet.
    public static func event(
        _ name: String,
        _ arguments: [JSONValue] = [],
        namespace: String = "/",
        ackID: Int? = nil
    ) -> SocketIOPacket {
        var data: [JSONValue] = [.string(name)]
        data.append(contentsOf: arguments)
        return SocketIOPacket(type: .event, namespace: namespace, ackID: ackID, data: .array(data))
    }

    /// An ACK packet answering `ackID` with `arguments`.
    /// - Parameters:
    ///   - ackID: The id of the event being acknowledged.
    ///   - arguments: The reply arguments.
    ///   - namespace: The namespace.
    /// - Returns: The packet.
    public static func ack(_ ackID: Int, _ arguments: [JSONValue] = [], namespace: String = "/") -> SocketIOPacket {
        SocketIOPacket(type: .ack, namespace: namespace, ackID: ackID, data: .array(arguments))
    }

    /// The event name, when this is an event whose first element is a string.
    public var eventName: String? {
        guard type == .event || type == .binaryEvent, case .array(let elements) = data else { return nil }
        return elements.first?.string
    }

    /// The event arguments (after the name) of an event, or the arguments of an acknowledgement.
    public var arguments: [JSONValue] {
        guard case .array(let elements) = data else { return [] }
        switch type {
        case .event, .binaryEvent: return Array(elements.dropFirst())
        case .ack, .binaryAck: return elements
        default: return []
        }
    }
}
