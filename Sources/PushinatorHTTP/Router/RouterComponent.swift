/// Something that can appear in a ``Router`` or ``RouteGroup`` builder and registers routes.
public protocol RouterComponent: Sendable {
    /// Adds this component's routes to `table`, under the prefix and middleware of `scope`.
    func register(into table: inout RouteTable, scope: RouteScope)
}

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

/// One element of a route builder: a component, or a middleware for the enclosing level.
public enum RouteElement: Sendable {
    case component(any RouterComponent)
    case middleware(any Middleware)
}

/// The result builder of ``Router`` and ``RouteGroup``.
@resultBuilder
public enum RouteBuilder {
    public static func buildExpression(_ component: some RouterComponent) -> [RouteElement] { [.component(component)] }
    public static func buildExpression(_ middleware: some Middleware) -> [RouteElement] { [.middleware(middleware)] }
    public static func buildExpression(_ elements: [RouteElement]) -> [RouteElement] { elements }
    public static func buildExpression(_ element: RouteElement) -> [RouteElement] { [element] }
    public static func buildBlock(_ parts: [RouteElement]...) -> [RouteElement] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [RouteElement]?) -> [RouteElement] { part ?? [] }
    public static func buildEither(first part: [RouteElement]) -> [RouteElement] { part }
    public static func buildEither(second part: [RouteElement]) -> [RouteElement] { part }
    public static func buildArray(_ parts: [[RouteElement]]) -> [RouteElement] { parts.flatMap { $0 } }
}

extension [RouteElement] {
    var middleware: [any Middleware] {
        compactMap { if case .middleware(let middleware) = $0 { middleware } else { nil } }
    }
    var components: [any RouterComponent] {
        compactMap { if case .component(let component) = $0 { component } else { nil } }
    }
}

/// Splitting route patterns and request paths into segments.
enum RoutePath {
    /// The non-empty segments of `path` (`"/a//b/"` gives `["a", "b"]`).
    static func segments(of path: some StringProtocol) -> [Substring] {
        Substring(path).split(separator: "/", omittingEmptySubsequences: true)
    }
}
