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
