/// One element of a route builder: a component, or a middleware for the enclosing level.
public enum RouteElement: Sendable {
    case component(any RouterComponent)
    case middleware(any Middleware)
}
