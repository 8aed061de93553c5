/// A responder that handles every method and every path under a prefix.
///
/// Use it to plug in another ``Router`` or a protocol server; the responder finds the path below the prefix in
/// ``RequestContext/remainingPath``. WebSocket upgrades under the prefix reach it as well. A
/// ``SynchronousHTTPResponder`` answers what it can on the event loop, without a task, when the middleware around
/// it is all ``SynchronousMiddleware``.
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
        var synchronous: SynchronousHandler?
        if let fast = responder as? any SynchronousHTTPResponder {  // answers without a task when it can
            synchronous = scope.middleware.asSynchronous?.wrapping { request, context in
                guard let response = try fast.respondSynchronously(to: request, context: context) else { throw RouteSuspension() }
                return response
            }
        }
        table.mount(
            pattern: scope.prefix + RoutePath.segments(of: path),
            responder: scope.middleware.wrapping(responder),
            synchronous: synchronous
        )
    }
}
