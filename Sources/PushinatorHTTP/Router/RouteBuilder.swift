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
