public import HTTPTypes
public import NIOCore
public import PushinatorJSON

/// A complete response, as a test sees it: status, headers and the whole body.
public struct TestResponse: Sendable {
    /// The status.
    public var status: HTTPResponse.Status
    /// The header fields (for a live server, as they came over the wire).
    public var headers: HTTPFields
    /// The body, streamed bodies included.
    public var body: ByteBuffer

    /// Creates a response.
    public init(status: HTTPResponse.Status, headers: HTTPFields = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of the header field `name` (case-insensitive), `nil` without one.
    /// - Parameter name: the field name.
    public func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headers[$0] }
    }

    /// Every value of the header field `name` (case-insensitive), in order; empty without one.
    /// - Parameter name: the field name.
    public func headerValues(_ name: String) -> [String] {
        HTTPField.Name(name).map { headers[values: $0] } ?? []
    }

    /// The body as UTF-8 text.
    public var text: String { String(buffer: body) }

    /// The body parsed as JSON.
    /// - Throws: the parser's error when the body is not JSON.
    public func json() throws -> JSONValue { try JSONValue(parsing: body) }
}
