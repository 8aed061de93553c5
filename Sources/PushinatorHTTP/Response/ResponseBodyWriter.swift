import HTTPTypes
public import NIOCore
import PushinatorJSON

/// Writes the parts of a streamed response body.
public struct ResponseBodyWriter: Sendable {
    let writePart: @Sendable (ByteBuffer) async throws -> Void

    /// Creates a writer from a closure that sends one part; used by the server and by middleware that wraps bodies.
    public init(_ writePart: @escaping @Sendable (ByteBuffer) async throws -> Void) {
        self.writePart = writePart
    }

    /// Sends `buffer` to the client; returns once the connection accepted it (backpressure).
    public func write(_ buffer: ByteBuffer) async throws {
        guard buffer.readableBytes > 0 else { return }
        try await writePart(buffer)
    }
}
