public import NIOCore

/// One Engine.IO packet: a type and a text or binary payload.
///
/// Text is kept as UTF-8 bytes so that a Socket.IO encoder can write straight into it and a decoder can read
/// it in place.
///
/// ```swift
/// let ping = EngineIOPacket(type: .ping)
/// let hello = EngineIOPacket.message("hello")     // 4hello
/// ```
public struct EngineIOPacket: Sendable, Hashable {
    /// The data a packet carries.
    public enum Payload: Sendable, Hashable {
        /// UTF-8 text (possibly empty).
        case text(ByteBuffer)
        /// Raw bytes; only messages carry binary data in practice.
        case binary(ByteBuffer)
    }

    /// The packet type.
    public var type: EngineIOPacketType
    /// The payload.
    public var payload: Payload

    /// Creates a packet.
    /// - Parameters:
    ///   - type: The packet type.
    ///   - payload: The payload, empty text by default.
    public init(type: EngineIOPacketType, payload: Payload = .text(ByteBuffer())) {
        self.type = type
        self.payload = payload
    }

    /// Creates a packet with a text payload.
    /// - Parameters:
    ///   - type: The packet type.
    ///   - text: The text payload.
    public init(type: EngineIOPacketType, text: String) {
        self.init(type: type, payload: .text(ByteBuffer(string: text)))
    }

    /// A text message.
    /// - Parameter text: The text.
    /// - Returns: The packet.
    public static func message(_ text: String) -> EngineIOPacket { EngineIOPacket(type: .message, text: text) }

    /// A text message whose UTF-8 bytes are already in a buffer.
    /// - Parameter text: The UTF-8 text.
    /// - Returns: The packet.
    public static func message(text: ByteBuffer) -> EngineIOPacket {
        EngineIOPacket(type: .message, payload: .text(text))
    }

    /// A binary message.
    /// - Parameter binary: The bytes.
    /// - Returns: The packet.
    public static func message(binary: ByteBuffer) -> EngineIOPacket {
        EngineIOPacket(type: .message, payload: .binary(binary))
    }

    /// Whether the payload is binary.
    public var isBinary: Bool { if case .binary = payload { true } else { false } }

    /// The payload bytes, text or binary.
    public var bytes: ByteBuffer {
        switch payload {
        case .text(let bytes), .binary(let bytes): bytes
        }
    }

    /// The payload as a string, when it is text.
    public var text: String? { if case .text(let bytes) = payload { String(buffer: bytes) } else { nil } }
}
