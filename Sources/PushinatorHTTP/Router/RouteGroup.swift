/// Routes under a common path prefix, with middleware that runs only for them.
///
/// ```swift
/// RouteGroup("admin") {
///     BearerAuth(tokens)            // runs only when an admin route matched
///     Post("users/:id/kick") { request, context in ... }
/// }
/// ```
public struct RouteGroup: RouterComponent {
    let path: String
    let elements: [RouteElement]

    /// Creates a group.
    /// - Parameters:
    ///   - path: The prefix of every route inside, e.g. `"api/v1"`.
    ///   - content: Routes, nested groups, mounts and middleware.
    public init(_ path: String = "", @RouteBuilder content: () -> [RouteElement]) {
        self.path = path
        self.elements = content()
    }

    public func register(into table: inout RouteTable, scope: RouteScope) {
        let inner = scope.appending(path: path, middleware: elements.middleware)
        for component in elements.components { component.register(into: &table, scope: inner) }
    }
}

/// A responder that handles every method and every path under a prefix.
///
/// Use it to plug in another ``Router`` or a protocol server; the responder finds the path below the prefix in
/// ``RequestContext/remainingPath``. WebSocket upgrades under the prefix reach it as well.
///
/// ```swift
/// Mount("socket.io", responder: io)
/// ```
public struct Mount: RouterComponent {
    let path: String
    let responder: any HTTPResponder

    /// Mounts `responder` at `path`.
    public init(_ path: String, responder: any HTTPResponder) {
        self.path = path
        self.responder = responder
    }

    public func register(into table: inout RouteTable, scope: RouteScope) {
        table.mount(pattern: scope.prefix + RoutePath.segments(of: path), responder: scope.middleware.wrapping(responder))
    }
}

/// Registers a list of components, to split a big router into controllers.
///
/// ```swift
/// struct UserController { var routes: RouteCollection { RouteCollection { Get("users") { ... } } } }
/// ```
public struct RouteCollection: RouterComponent {
    let elements: [RouteElement]

    /// Creates a collection from a builder.
    public init(@RouteBuilder content: () -> [RouteElement]) { self.elements = content() }

    public func register(into table: inout RouteTable, scope: RouteScope) {
        let inner = scope.appending(path: "", middleware: elements.middleware)
        for component in elements.components { component.register(into: &table, scope: inner) }
    }
}
