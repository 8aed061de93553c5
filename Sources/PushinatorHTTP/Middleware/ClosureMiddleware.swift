/// A middleware made from a closure.
public struct ClosureMiddleware: Middleware {
    let closure: @Sendable (Request, RequestContext, Next) async throws -> Response

    /// Creates a middleware from `closure`.
    public init(_ closure: @escaping @Sendable (Request, RequestContext, Next) async throws -> Response) {
        self.closure = closure
    }

    public func handle(_ request: Request, context: RequestContext, next: Next) async throws -> Response {
        try await closure(request, context, next)
    }
}
