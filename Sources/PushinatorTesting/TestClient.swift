public import HTTPTypes
public import NIOCore

/// Sends requests to the responder under test, in process or over a socket (see ``TestingSetup``).
///
/// ```swift
/// try await router.test { client in
///     let response = try await client.execute(.post, "/user/send", body: #"{"userId":"7"}"#)
///     #expect(response.status == .ok)
/// }
/// ```
public protocol TestClient: Sendable {
    /// Sends one request and returns the complete response.
    /// - Parameters:
    ///   - method: the request method.
    ///   - path: the request target: path and query (`/rooms/a?limit=2`).
    ///   - headers: header fields to send.
    ///   - body: the request body; `nil` for none.
    /// - Returns: the response with its whole body.
    func execute(
        _ method: HTTPRequest.Method,
        _ path: String,
        headers: HTTPFields,
        body: ByteBuffer?
    ) async throws -> TestResponse
}

extension TestClient {
    /// Sends one request without a body.
    /// - Parameters:
    ///   - method: the request method.
    ///   - path: the request target: path and query.
    ///   - headers: header fields to send.
    /// - Returns: the response with its whole body.
    public func execute(
        _ method: HTTPRequest.Method,
        _ path: String,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        try await execute(method, path, headers: headers, body: nil)
    }

    /// Sends one request with a text body (a JSON document, a form).
    /// - Parameters:
    ///   - method: the request method.
    ///   - path: the request target: path and query.
    ///   - headers: header fields to send.
    ///   - body: the body, sent as UTF-8.
    /// - Returns: the response with its whole body.
    public func execute(
        _ method: HTTPRequest.Method,
        _ path: String,
        headers: HTTPFields = [:],
        body: String
    ) async throws -> TestResponse {
        try await execute(method, path, headers: headers, body: ByteBuffer(string: body))
    }
}
