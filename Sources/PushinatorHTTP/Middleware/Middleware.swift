/// A step in the request pipeline that can look at a request, answer it, or pass it on and change the response.
///
/// Middleware written at the top of a ``Router`` runs for every request, 404s included; middleware inside a
/// ``RouteGroup`` runs only for requests that matched a route of that group. In both places it runs in the
/// order written, outermost first.
///
/// ```swift
/// struct RequireToken: Middleware {
///     let token: String
///     func handle(_ request: Request, context: RequestContext, next: Next) async throws -> Response {
///         guard request.headers[.authorization] == "Bearer \(token)" else { throw HTTPError(.unauthorized) }
///         return try await next(request, context)
///     }
/// }
/// ```
public protocol Middleware: Sendable {
    /// Handles `request`; call `next` to pass it on.
    func handle(_ request: Request, context: RequestContext, next: Next) async throws -> Response
}

/// The rest of the pipeline after a middleware.
public struct Next: Sendable {
    let responder: any HTTPResponder

    /// Passes the request on and returns the response of the rest of the pipeline.
    public func callAsFunction(_ request: Request, _ context: RequestContext) async throws -> Response {
        try await responder.respond(to: request, context: context)
    }
}

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
