public import NIOCore

/// A complete WebSocket message (fragments already reassembled).
public enum WebSocketMessage: Sendable, Hashable {
    /// A text message; the bytes are valid UTF-8.
    case text(ByteBuffer)
    /// A binary message.
    case binary(ByteBuffer)

    /// A text message from a string.
    public static func text(_ string: String) -> WebSocketMessage { .text(ByteBuffer(string: string)) }

    /// The payload bytes.
    public var buffer: ByteBuffer {
        switch self {
        case .text(let buffer), .binary(let buffer): buffer
        }
    }

    /// The text, for text messages.
    public var string: String? {
        if case .text(let buffer) = self { String(buffer: buffer) } else { nil }
    }
}
