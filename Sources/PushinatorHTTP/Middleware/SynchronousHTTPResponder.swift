/// A responder that can answer some requests on the event loop, without a task (a mounted protocol server whose
/// WebSocket upgrades need no `await`, for example).
///
/// ``Mount`` uses the fast path when the router and the mount's middleware are all ``SynchronousMiddleware``: the
/// router calls ``respondSynchronously(to:context:)`` first and, when it returns `nil`, sends the request through
/// ``HTTPResponder/respond(to:context:)`` from the start. So `respondSynchronously` must return `nil` before it
/// changes anything, and answer (or throw) exactly as `respond` would for the requests it does answer.
public protocol SynchronousHTTPResponder: HTTPResponder {
    /// The response to `request` when it can be made without suspending; `nil` sends the request to
    /// ``HTTPResponder/respond(to:context:)``. A thrown error is rendered as `respond`'s would be.
    func respondSynchronously(to request: Request, context: RequestContext) throws -> Response?
}
