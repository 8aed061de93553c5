public import HTTPTypes
public import NIOCore
public import PushinatorJSON

/// A value a route handler can return; the server turns it into a ``Response``.
///
/// Provided for `Response`, `String` (text), `ByteBuffer` (octets), `HTTPResponse.Status` (empty body),
/// ``JSONValue`` and ``JSONResponse`` (JSON), and `Optional` (nil is 204).
public protocol ResponseGenerator: Sendable {
    /// The response for this value.
    func response(for request: Request, context: RequestContext) throws -> Response
}

extension Response: ResponseGenerator {
    public func response(for request: Request, context: RequestContext) -> Response { self }
}

extension String: ResponseGenerator {
    public func response(for request: Request, context: RequestContext) -> Response { .text(self) }
}

extension Substring: ResponseGenerator {
    public func response(for request: Request, context: RequestContext) -> Response { .text(String(self)) }
}

extension ByteBuffer: ResponseGenerator {
    public func response(for request: Request, context: RequestContext) -> Response {
        Response(headers: Response.octetStreamFields, body: .buffer(self))
    }
}

extension HTTPResponse.Status: ResponseGenerator {
    public func response(for request: Request, context: RequestContext) -> Response { Response(status: self) }
}

extension JSONValue: ResponseGenerator {
    public func response(for request: Request, context: RequestContext) -> Response { .json(self) }
}

extension Optional: ResponseGenerator where Wrapped: ResponseGenerator {
    public func response(for request: Request, context: RequestContext) throws -> Response {
        switch self {
        case .some(let value): try value.response(for: request, context: context)
        case .none: Response(status: .noContent)
        }
    }
}
