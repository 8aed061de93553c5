public import HTTPTypes
import NIOCore

/// An HTTP request as handlers see it: the head, the decoded target and the collected body.
public struct Request: Sendable {
    /// The request head (method, target, header fields).
    public var head: HTTPRequest
    /// The path of the target, percent-encoded as received, without the query.
    public var path: Substring
    /// The raw query string (after `?`), empty when there is none.
    public var rawQuery: Substring
    /// The request body, collected up to the configured limit before the handler runs.
    public var body: RequestBody

    /// Creates a request from a head and a body.
    public init(head: HTTPRequest, body: RequestBody = .init()) {
        self.head = head
        let target = head.path ?? "/"
        if let questionMark = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            self.path = target[..<questionMark]
            self.rawQuery = target[target.utf8.index(after: questionMark)...]
        } else {
            self.path = target[...]
            self.rawQuery = ""
        }
        self.body = body
    }

    /// The request method.
    public var method: HTTPRequest.Method { head.method }
    /// The header fields.
    public var headers: HTTPFields {
        get { head.headerFields }
        set { head.headerFields = newValue }
    }
    /// The decoded query parameters (repeated keys kept in order).
    public var query: QueryParameters { QueryParameters(parsing: rawQuery) }
    /// The cookies sent with the request.
    public var cookies: Cookies { Cookies(headers: head.headerFields) }
}
