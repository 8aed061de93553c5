public import HTTPTypes

/// A handler for one method and path pattern.
///
/// Build routes with the verb functions: ``Get(_:handler:)``, ``Post(_:handler:)`` and friends.
/// Pattern segments: `name` (static), `:name` or `{name}` (parameter), `*` (any one segment),
/// `**` (the rest of the path, last segment only).
public struct Route: RouterComponent {
    /// The method this route answers.
    public let method: HTTPRequest.Method
    /// The path pattern, relative to the enclosing groups.
    public let path: String
    let responder: any HTTPResponder
    /// The handler when it does not suspend: it then runs on the event loop without a task.
    let synchronous: (@Sendable (Request, RequestContext) throws -> Response)?

    /// Creates a route from a handler that returns any ``ResponseGenerator``.
    public init<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method,
        _ path: String = "",
        handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
    ) {
        self.method = method
        self.path = path
        self.responder = ClosureResponder { request, context in
            try await handler(request, context).response(for: request, context: context)
        }
        self.synchronous = nil
    }

    /// Creates a route from a handler that does not suspend (no `await`); such a handler runs directly on the
    /// event loop, without creating a task, when all middleware around it is ``SynchronousMiddleware``.
    public init<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method,
        _ path: String = "",
        handler: @escaping @Sendable (Request, RequestContext) throws -> Output
    ) {
        let synchronous: @Sendable (Request, RequestContext) throws -> Response = { request, context in
            try handler(request, context).response(for: request, context: context)
        }
        self.method = method
        self.path = path
        self.responder = ClosureResponder { request, context in try synchronous(request, context) }
        self.synchronous = synchronous
    }

    /// Creates a route with a fast path: `synchronously` answers on the event loop, without a task, when it can,
    /// and returns `nil` when the request needs to suspend; `handler` then answers it in a task. `synchronously`
    /// must decide before it does anything it would not want done twice, since `handler` sees the same request
    /// from the start (and the middleware in front of the route runs again).
    ///
    /// ```swift
    /// Post("send", synchronously: { request, _ in
    ///     try wantsAck(request) ? nil : sendNow(request)       // most requests
    /// }) { request, _ in try await sendAndWaitForAcks(request) }
    /// ```
    public init<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method,
        _ path: String = "",
        synchronously: @escaping @Sendable (Request, RequestContext) throws -> Output?,
        handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
    ) {
        self.method = method
        self.path = path
        self.responder = ClosureResponder { request, context in
            try await handler(request, context).response(for: request, context: context)
        }
        self.synchronous = { request, context in
            guard let output = try synchronously(request, context) else { throw RouteSuspension() }
            return try output.response(for: request, context: context)
        }
    }

    /// Creates a route that hands requests to `responder`.
    public init(_ method: HTTPRequest.Method, _ path: String = "", responder: any HTTPResponder) {
        self.method = method
        self.path = path
        self.responder = responder
        self.synchronous = nil
    }

    public func register(into table: inout RouteTable, scope: RouteScope) {
        table.add(
            method: method,
            pattern: scope.prefix + RoutePath.segments(of: path),
            responder: scope.middleware.wrapping(responder),
            synchronous: synchronous.flatMap { handler in scope.middleware.asSynchronous?.wrapping(handler) }
        )
    }
}

/// A `GET` route (also answers `HEAD` unless a `HEAD` route exists).
public func Get<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
) -> Route { Route(.get, path, handler: handler) }

/// A `POST` route.
public func Post<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
) -> Route { Route(.post, path, handler: handler) }

/// A `PUT` route.
public func Put<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
) -> Route { Route(.put, path, handler: handler) }

/// A `PATCH` route.
public func Patch<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
) -> Route { Route(.patch, path, handler: handler) }

/// A `DELETE` route.
public func Delete<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
) -> Route { Route(.delete, path, handler: handler) }

/// A `HEAD` route.
public func Head<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
) -> Route { Route(.head, path, handler: handler) }

/// An `OPTIONS` route (without one the router answers `OPTIONS` with `Allow`).
public func Options<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
) -> Route { Route(.options, path, handler: handler) }

/// A `POST` route with a fast path: `synchronously` answers without a task when it can and returns `nil` when the
/// request needs `handler`, which then answers it in a task (see ``Route/init(_:_:synchronously:handler:)``).
public func Post<Output: ResponseGenerator>(
    _ path: String = "",
    synchronously: @escaping @Sendable (Request, RequestContext) throws -> Output?,
    handler: @escaping @Sendable (Request, RequestContext) async throws -> Output
) -> Route { Route(.post, path, synchronously: synchronously, handler: handler) }

/// Thrown by a route's synchronous fast path that cannot answer without suspending: the request then goes through
/// the async pipeline from the start. Never rendered as a response.
struct RouteSuspension: Error {}

// MARK: Handlers that do not suspend
//
// The same verbs for closures without `await`: Swift picks these, and the route runs without a task.

/// A `GET` route (also answers `HEAD` unless a `HEAD` route exists) whose handler does not suspend.
public func Get<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) throws -> Output
) -> Route { Route(.get, path, handler: handler) }

/// A `POST` route whose handler does not suspend.
public func Post<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) throws -> Output
) -> Route { Route(.post, path, handler: handler) }

/// A `PUT` route whose handler does not suspend.
public func Put<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) throws -> Output
) -> Route { Route(.put, path, handler: handler) }

/// A `PATCH` route whose handler does not suspend.
public func Patch<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) throws -> Output
) -> Route { Route(.patch, path, handler: handler) }

/// A `DELETE` route whose handler does not suspend.
public func Delete<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) throws -> Output
) -> Route { Route(.delete, path, handler: handler) }

/// A `HEAD` route whose handler does not suspend.
public func Head<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) throws -> Output
) -> Route { Route(.head, path, handler: handler) }

/// An `OPTIONS` route (without one the router answers `OPTIONS` with `Allow`) whose handler does not suspend.
public func Options<Output: ResponseGenerator>(
    _ path: String = "",
    handler: @escaping @Sendable (Request, RequestContext) throws -> Output
) -> Route { Route(.options, path, handler: handler) }
