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
