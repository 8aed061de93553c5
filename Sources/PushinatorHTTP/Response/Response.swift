public import HTTPTypes
public import NIOCore
public import PushinatorJSON

/// An HTTP response: a head and a body.
public struct Response: Sendable {
    /// The status and header fields.
    public var head: HTTPResponse
    /// The body.
    public var body: ResponseBody
    /// Set when this response accepts a WebSocket upgrade (see ``webSocket(headers:configuration:onUpgrade:)``).
    public internal(set) var webSocketUpgrade: WebSocketUpgrade?

    /// Creates a response.
    /// - Parameters:
    ///   - status: The status; `.ok` by default.
    ///   - headers: The header fields. `Content-Length` is set by the server for in-memory bodies.
    ///   - body: The body; empty by default.
    public init(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], body: ResponseBody = .empty) {
        self.head = HTTPResponse(status: status, headerFields: headers)
        self.body = body
    }

    /// The status.
    public var status: HTTPResponse.Status {
        get { head.status }
        set { head.status = newValue }
    }

    /// The header fields.
    public var headers: HTTPFields {
        get { head.headerFields }
        set { head.headerFields = newValue }
    }

    /// A response whose body is `value` written as JSON, with `Content-Type: application/json`.
    public static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        value.write(to: &buffer)
        return Response(status: status, headers: jsonFields, body: .buffer(buffer))
    }

    /// `Content-Type: application/json; charset=utf-8`, built once (building `HTTPFields` allocates).
    public static let jsonFields: HTTPFields = [.contentType: "application/json; charset=utf-8"]

    /// A response whose body is `text`, with `Content-Type: text/plain; charset=utf-8`.
    public static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: textFields,
            body: .buffer(ByteBuffer(string: text))
        )
    }

    /// `Content-Type: text/plain; charset=utf-8`, built once (building `HTTPFields` allocates and validates).
    public static let textFields: HTTPFields = [.contentType: "text/plain; charset=utf-8"]

    /// `Content-Type: application/octet-stream`, built once.
    static let octetStreamFields: HTTPFields = [.contentType: "application/octet-stream"]
}

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
