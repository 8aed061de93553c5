public import HTTPTypes
import NIOCore
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
