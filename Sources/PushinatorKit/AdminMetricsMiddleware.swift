import HTTPTypes
import PushinatorHTTP

/// Counts admin API requests by route and status and times them, for ``PushMetrics``. Synchronous, so the admin
/// routes keep their fast path.
struct AdminMetricsMiddleware: SynchronousMiddleware {
    let metrics: PushMetrics
    /// The routes counted by name; anything else is `other`, so clients cannot grow the label set.
    let routes: Set<Substring>

    private enum Started: ContextStorageKey { typealias Value = ContinuousClock.Instant }

    func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? {
        context.storage[Started.self] = .now
        return nil
    }

    func handleResponse(_ response: inout Response, request: Request, context: RequestContext) {
        let started = context.storage[Started.self] ?? .now
        let route = routes.contains(request.path) ? String(request.path) : "other"
        metrics.adminRequest(route: route, status: Int(response.status.code), duration: .now - started)
    }
}
