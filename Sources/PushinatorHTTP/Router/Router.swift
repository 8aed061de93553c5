import HTTPTypes
public import Logging

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

/// The innermost step of a router: finds the route and calls it, rendering errors.
struct RouteDispatcher: HTTPResponder {
    let table: RouteTable

    func respond(to request: Request, context: RequestContext) async throws -> Response {
        var context = context
        do {
            switch try Self.resolve(table.match(method: request.method, path: context.remainingPath), request: request, context: &context) {
            case .handler(let handler):
                return try await handler.responder.respond(to: request, context: context)
            case .response(let response):
                return response
            }
        } catch {
            return ErrorRendering.response(for: error, request: request, logger: context.logger)
        }
    }

    enum Resolution {
        case handler(RouteTable.Handler)
        case response(Response)
    }

    /// The handler for a match, with its parameters put into `context`; or the router's own answer
    /// (OPTIONS), or a thrown 404/405.
    static func resolve(_ match: RouteTable.Match, request: Request, context: inout RequestContext) throws -> Resolution {
        switch match {
        case .found(let handler, let values, let catchAll, let remainingPath):
            if !values.isEmpty || catchAll != nil {
                for (name, value) in zip(handler.parameterNames, values) { context.parameters.append(name, value) }
                context.parameters.catchAll = catchAll
            }
            if let remainingPath { context.remainingPath = remainingPath }
            return .handler(handler)
        case .methodNotAllowed(let allowed):
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            if request.method == .options {
                return .response(Response(status: .noContent, headers: [.allow: allow]))
            }
            throw HTTPError(.methodNotAllowed, message: "Method Not Allowed", headers: [.allow: allow])
        case .notFound:
            throw HTTPError(.notFound, message: "Not Found")
        }
    }
}

/// Turns thrown errors into responses.
public enum ErrorRendering {
    /// The response for `error`: its own rendering for ``HTTPResponseError``, otherwise a logged 500.
    public static func response(for error: any Error, request: Request, logger: Logger) -> Response {
        if let error = error as? any HTTPResponseError { return error.response(for: request) }
        logger.error(
            "request handler failed",
            metadata: ["http.path": "\(request.path)", "error.message": "\(error)", "error.type": "\(type(of: error))"]
        )
        return HTTPError(.internalServerError, message: "Internal Server Error").response(for: request)
    }
}
