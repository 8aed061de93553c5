public import HTTPTypes
public import PushinatorJSON

/// An error that renders itself as an HTTP response.
///
/// Throw it from a handler or a middleware; the server turns it into a JSON body
/// `{"error": "<message>", "status": <code>}` with the given status and headers.
///
/// ```swift
/// throw HTTPError(.notFound, message: "no such room")
/// ```
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// The response status.
    public var status: HTTPResponse.Status
    /// The message given to the client; `nil` uses the status' reason phrase.
    public var message: String?
    /// Extra response headers (for example `Allow` on a 405).
    public var headers: HTTPFields
    /// Extra members of the JSON error body, placed between `error` and `status`.
    public var details: JSONObject

    /// Creates an error.
    /// - Parameters:
    ///   - status: The response status.
    ///   - message: What went wrong, in words a client developer understands.
    ///   - headers: Extra response headers.
    ///   - details: Extra members of the JSON body.
    public init(
        _ status: HTTPResponse.Status,
        message: String? = nil,
        headers: HTTPFields = [:],
        details: JSONObject = [:]
    ) {
        self.status = status
        self.message = message
        self.headers = headers
        self.details = details
    }

    public var description: String {
        "HTTPError(\(status.code)\(message.map { ": \($0)" } ?? ""))"
    }

    /// The JSON body this error renders to.
    public var body: JSONValue {
        var object: JSONObject = ["error": .string(message ?? status.reasonPhrase)]
        for (key, value) in details { object[key] = value }
        object["status"] = .integer(status.code)
        return .object(object)
    }
}

extension HTTPError: HTTPResponseError {
    public func response(for request: Request) -> Response {
        var response = Response.json(body, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}
