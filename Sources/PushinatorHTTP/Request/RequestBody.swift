public import NIOCore

/// A request body that the server collected before calling the handler.
///
/// The server enforces the configured maximum while receiving (413 when exceeded), so a handler never sees
/// more than that.
public struct RequestBody: Sendable {
    /// The bytes of the body; empty when the request had none.
    public var buffer: ByteBuffer

    /// Creates a body from bytes.
    public init(buffer: ByteBuffer = ByteBuffer()) { self.buffer = buffer }

    /// Creates a body from a string.
    public init(string: String) { self.buffer = ByteBuffer(string: string) }

    /// The body decoded as UTF-8 (invalid sequences repaired).
    public var string: String { String(buffer: buffer) }

    /// The number of bytes.
    public var count: Int { buffer.readableBytes }
}
