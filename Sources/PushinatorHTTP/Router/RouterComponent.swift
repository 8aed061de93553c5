
/// Something that can appear in a ``Router`` or ``RouteGroup`` builder and registers routes.
public protocol RouterComponent: Sendable {
    /// Adds this component's routes to `table`, under the prefix and middleware of `scope`.
    func register(into table: inout RouteTable, scope: RouteScope)
}
