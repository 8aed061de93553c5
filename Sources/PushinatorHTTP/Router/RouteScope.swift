/// The prefix and middleware that enclosing groups give to the routes they contain.
public struct RouteScope: Sendable {
    /// The path segments of the enclosing groups.
    public var prefix: [Substring]
    /// The middleware of the enclosing groups, outermost first.
    public var middleware: [any Middleware]

    static var root: RouteScope { RouteScope(prefix: [], middleware: []) }

    /// The scope for a nested group.
    func appending(path: String, middleware: [any Middleware]) -> RouteScope {
        RouteScope(prefix: prefix + RoutePath.segments(of: path), middleware: self.middleware + middleware)
    }
}
