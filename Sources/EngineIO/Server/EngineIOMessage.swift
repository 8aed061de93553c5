public import NIOCore

/// The payload of an Engine.IO message packet.
public enum EngineIOMessage: Sendable, Hashable {
    /// A text message (the bytes after the `4` type digit).
    case text(ByteBuffer)
    /// A binary message.
    case binary(ByteBuffer)
}
