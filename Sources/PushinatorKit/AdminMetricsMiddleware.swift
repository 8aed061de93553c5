import HTTPTypes
import PushinatorHTTP

/// Counts admin API requests by route and status and times them, for ``PushMetrics``. Synchronous, so the admin
/// routes keep their fast path.
///
/// The metric handles are looked up once, when the middleware is made: a request costs a dictionary lookup of its
/// path, a counter increment and a histogram observation, never a registry lookup.
struct AdminMetricsMiddleware: SynchronousMiddleware {
    /// The routes counted by name; anything else is `other`, so clients cannot grow the label set.
    private let routes: [Substring: AdminRouteMetrics]
    private let other: AdminRouteMetrics

    private enum Started: ContextStorageKey { typealias Value = ContinuousClock.Instant }

    init(metrics: PushMetrics, routes: Set<Substring>) {
        var table: [Substring: AdminRouteMetrics] = [:]
        for route in routes { table[route] = metrics.adminRoute(String(route)) }
        self.routes = table
        self.other = metrics.adminRoute("other")
    }

    func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? {
        context.storage[Started.self] = .now
        return nil
    }

    func handleResponse(_ response: inout Response, request: Request, context: RequestContext) {
        let started = context.storage[Started.self] ?? .now
        (routes[request.path] ?? other).record(status: Int(response.status.code), duration: .now - started)
    }
}
