import HTTPTypes
import Logging

/// Routes requests to handlers, declared with a result builder and compiled into a trie.
///
/// ```swift
/// let router = Router {
///     RequestLogMiddleware()                           // every request, 404s included
///     Get("healthz") { _, _ in HTTPResponse.Status.ok }
///     RouteGroup("rooms") {
///         Get(":room") { request, context in try context.parameters.require("room") }
///     }
///     Mount("socket.io", responder: io)
/// }
/// ```
///
/// The router answers on its own: 404 when no route matches, 405 with `Allow` when the path exists for other
/// methods, `HEAD` with the `GET` handler, and `OPTIONS` with `Allow`. Errors thrown by handlers and group
/// middleware are rendered as responses (``HTTPError``) before router-level middleware sees them, so that
/// logging, CORS and compression apply to error responses too.
public struct Router: HTTPResponder, Sendable {
    let table: RouteTable
    let pipeline: any HTTPResponder
    /// The router-level middleware when all of it is synchronous (`[]` when there is none); `nil` sends every
    /// request through the async pipeline.
    let synchronousMiddleware: [any SynchronousMiddleware]?

    /// Creates a router.
    /// - Parameter content: Router-level middleware, routes, groups and mounts.
    public init(@RouteBuilder content: () -> [RouteElement]) {
        self.init(elements: content())
    }

    init(elements: [RouteElement]) {
        var table = RouteTable()
        for component in elements.components { component.register(into: &table, scope: .root) }
        self.table = table
        self.pipeline = elements.middleware.wrapping(RouteDispatcher(table: table))
        self.synchronousMiddleware = elements.middleware.asSynchronous
    }

    /// The registered routes, one line each (`GET /rooms/:room`).
    public var routeDescriptions: [String] { table.descriptions }

    public func respond(to request: Request, context: RequestContext) async throws -> Response {
        try await pipeline.respond(to: request, context: context)
    }

    /// Answers without a task when nothing on the request's path can suspend: router-level middleware that is all
    /// ``SynchronousMiddleware``, and a route whose handler (with its group middleware) does not suspend, or no
    /// route (404/405). `nil` means "use ``respond(to:context:)``", also when the route's fast path declines
    /// (``Route/init(_:_:synchronously:handler:)``).
    func respondSynchronously(to request: Request, context: RequestContext) -> Response? {
        guard let middleware = synchronousMiddleware else { return nil }
        let match = table.match(method: request.method, path: context.remainingPath)
        if case .found(let handler, _, _, _) = match, handler.synchronous == nil { return nil }
        do {
            return try middleware.run(request, context: context) { request, context in
                if case .found(let handler, let values, nil, nil) = match, values.isEmpty {
                    return try handler.synchronous!(request, context)  // nothing to put into the context
                }
                var context = context
                switch try RouteDispatcher.resolve(match, request: request, context: &context) {
                case .handler(let handler): return try handler.synchronous!(request, context)
                case .response(let response): return response
                }
            }
        } catch is RouteSuspension {
            return nil
        } catch {
            return ErrorRendering.response(for: error, request: request, logger: context.logger)
        }
    }
}
