/// A responder that runs a middleware in front of another responder.
struct MiddlewareResponder: HTTPResponder {
    let middleware: any Middleware
    let next: Next

    func respond(to request: Request, context: RequestContext) async throws -> Response {
        try await middleware.handle(request, context: context, next: next)
    }
}

extension Array where Element == any Middleware {
    /// Wraps `responder` so that the first middleware runs first.
    func wrapping(_ responder: any HTTPResponder) -> any HTTPResponder {
        reversed().reduce(responder) { inner, middleware in
            MiddlewareResponder(middleware: middleware, next: Next(responder: inner))
        }
    }
}
