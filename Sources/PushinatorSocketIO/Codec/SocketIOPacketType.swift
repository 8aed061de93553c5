/// The type of a Socket.IO v5 packet, the first character of its text form.
public enum SocketIOPacketType: UInt8, Sendable, Hashable, CaseIterable {
    /// Connection to a namespace (`0`); from the server it carries `{"sid":...}`.
    case connect = 0
    /// Disconnection from a namespace (`1`).
    case disconnect = 1
    /// An event with JSON arguments (`2`).
    case event = 2
    /// An acknowledgement with JSON arguments (`3`).
    case ack = 3
    /// A refused connection to a namespace (`4`).
    case connectError = 4
    /// An event whose arguments include binary attachments (`5`).
    case binaryEvent = 5
    /// An acknowledgement whose arguments include binary attachments (`6`).
    case binaryAck = 6

    /// Whether packets of this type announce binary attachments (`binaryEvent`, `binaryAck`).
    public var isBinary: Bool { self == .binaryEvent || self == .binaryAck }

    /// The ASCII digit that starts the text form.
    var digit: UInt8 { UInt8(ascii: "0") &+ rawValue }
}
