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
