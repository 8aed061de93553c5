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
