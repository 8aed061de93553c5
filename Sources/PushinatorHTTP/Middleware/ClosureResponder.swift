/// A responder made from a closure.
public struct ClosureResponder: HTTPResponder {
    let closure: @Sendable (Request, RequestContext) async throws -> Response

    /// Creates a responder from `closure`.
    public init(_ closure: @escaping @Sendable (Request, RequestContext) async throws -> Response) {
        self.closure = closure
    }

    public func respond(to request: Request, context: RequestContext) async throws -> Response {
        try await closure(request, context)
    }
}
