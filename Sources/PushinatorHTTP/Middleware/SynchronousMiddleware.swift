/// Middleware that never suspends: it looks at the request before the rest of the pipeline (and may answer it
/// there), and may change the response after it.
///
/// Written this way, a middleware keeps the fast path open: when every middleware in front of a route is
/// synchronous and the route's handler does not suspend either, the server runs the whole request on the event
/// loop without creating a task. In front of an asynchronous route it works like any ``Middleware``.
///
/// ```swift
/// struct RequireJSON: SynchronousMiddleware {
///     func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? {
///         guard request.headers[.contentType]?.hasPrefix("application/json") ?? false else {
///             throw HTTPError(.unsupportedMediaType, message: "Send JSON")
///         }
///         return nil
///     }
/// }
/// ```
///
/// `handleRequest` may change the context (logger metadata, storage) but not reroute the request: changing
/// ``RequestContext/remainingPath`` there has no effect on which route runs.
public protocol SynchronousMiddleware: Middleware {
    /// Runs before the rest of the pipeline. Return a response to answer the request here (``handleResponse``
    /// is then not called), `nil` to pass it on, or throw an error to answer with its rendering.
    func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response?

    /// Runs with the response of the rest of the pipeline; errors thrown there arrive rendered as responses.
    /// Does nothing by default.
    func handleResponse(_ response: inout Response, request: Request, context: RequestContext)
}

extension SynchronousMiddleware {
    public func handleResponse(_ response: inout Response, request: Request, context: RequestContext) {}

    public func handle(_ request: Request, context: RequestContext, next: Next) async throws -> Response {
        var context = context
        if let early = try handleRequest(request, context: &context) { return early }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = ErrorRendering.response(for: error, request: request, logger: context.logger)
        }
        handleResponse(&response, request: request, context: context)
        return response
    }
}

/// A synchronous handler behind synchronous middleware, composed into one synchronous handler.
typealias SynchronousHandler = @Sendable (Request, RequestContext) throws -> Response

extension Array where Element == any Middleware {
    /// The same middleware as ``SynchronousMiddleware``s, or `nil` when one of them can suspend.
    var asSynchronous: [any SynchronousMiddleware]? {
        var result: [any SynchronousMiddleware] = []
        result.reserveCapacity(count)
        for middleware in self {
            guard let synchronous = middleware as? any SynchronousMiddleware else { return nil }
            result.append(synchronous)
        }
        return result
    }
}

extension Array where Element == any SynchronousMiddleware {
    /// Runs `handler` behind these middleware, the first one outermost, as the async pipeline would.
    func wrapping(_ handler: @escaping SynchronousHandler) -> SynchronousHandler {
        if isEmpty { return handler }
        return { [self] request, context in try run(request, context: context, handler: handler) }
    }

    /// Runs `request` through these middleware (the first outermost) into `handler`; allocates nothing itself.
    func run(
        _ request: Request,
        context: RequestContext,
        from index: Int = 0,
        handler: (Request, RequestContext) throws -> Response
    ) throws -> Response {
        guard index < count else { return try handler(request, context) }
        let middleware = self[index]
        var context = context
        if let early = try middleware.handleRequest(request, context: &context) { return early }
        var response: Response
        do {
            response = try run(request, context: context, from: index + 1, handler: handler)
        } catch let suspension as RouteSuspension {
            throw suspension  // the route needs a task: the async pipeline answers instead
        } catch {
            response = ErrorRendering.response(for: error, request: request, logger: context.logger)
        }
        middleware.handleResponse(&response, request: request, context: context)
        return response
    }
}
