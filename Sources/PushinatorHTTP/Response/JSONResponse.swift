public import HTTPTypes
import PushinatorJSON

/// Wraps an `Encodable` value to send it as JSON.
///
/// ```swift
/// Get("users/:id") { request, context in JSONResponse(try await users.find(context.parameters.require("id"))) }
/// ```
public struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator {
    /// The value to encode.
    public var value: Value
    /// The status.
    public var status: HTTPResponse.Status

    /// Creates a JSON response.
    public init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    public func response(for request: Request, context: RequestContext) throws -> Response {
        .json(try JSONValue(encoding: value), status: status)
    }
}
