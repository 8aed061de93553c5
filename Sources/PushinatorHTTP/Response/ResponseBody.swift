import HTTPTypes
public import NIOCore
import PushinatorJSON

/// The body of a ``Response``.
public struct ResponseBody: Sendable {
    enum Storage: Sendable {
        case buffer(ByteBuffer)
        case stream(@Sendable (inout ResponseBodyWriter) async throws -> Void)
    }

    let storage: Storage

    /// No body.
    public static var empty: ResponseBody { ResponseBody(storage: .buffer(ByteBuffer())) }

    /// A body held in memory; sent with `Content-Length`.
    public static func buffer(_ buffer: ByteBuffer) -> ResponseBody { ResponseBody(storage: .buffer(buffer)) }

    /// A body held in memory, from a string.
    public static func string(_ string: String) -> ResponseBody { .buffer(ByteBuffer(string: string)) }

    /// A body produced while it is sent, with chunked transfer encoding.
    ///
    /// ```swift
    /// Response(body: .stream { writer in
    ///     for line in lines { try await writer.write(ByteBuffer(string: line)) }
    /// })
    /// ```
    public static func stream(_ produce: @escaping @Sendable (inout ResponseBodyWriter) async throws -> Void)
        -> ResponseBody
    {
        ResponseBody(storage: .stream(produce))
    }

    /// The in-memory bytes, or `nil` for a streamed body.
    public var buffer: ByteBuffer? {
        if case .buffer(let buffer) = storage { buffer } else { nil }
    }

    /// Writes the body to `writer`: the in-memory bytes at once, a stream as it is produced (middleware that
    /// transforms bodies, test clients that collect them).
    /// - Parameter writer: where the parts go.
    public func write(to writer: inout ResponseBodyWriter) async throws {
        switch storage {
        case .buffer(let buffer): try await writer.write(buffer)
        case .stream(let produce): try await produce(&writer)
        }
    }
}
