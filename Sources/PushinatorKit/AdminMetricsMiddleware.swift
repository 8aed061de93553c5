import HTTPTypes
import PushinatorHTTP

/// Counts admin API requests by route and status and times them, for ``PushMetrics``. Synchronous, so the admin
/// routes keep their fast path.
///
/// The metric handles are looked up once, when the middleware is made: a request costs two clock reads, a scan of
/// the route list, a counter increment and a histogram observation, never a registry lookup or an allocation.
struct AdminMetricsMiddleware: SynchronousMiddleware {
    /// The routes counted by name, the busiest first; anything else is `other`, so clients cannot grow the label
    /// set. A short list compared by length first costs less than hashing the path.
    private let routes: [(path: String, metrics: AdminRouteMetrics)]
    private let other: AdminRouteMetrics

    /// - Parameter routes: The paths counted by name, in the order they are looked up (busiest first).
    init(metrics: PushMetrics, routes: [String]) {
        self.routes = routes.map { ($0, metrics.adminRoute($0)) }
        self.other = metrics.adminRoute("other")
    }

    func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? {
        context.timingStart = .now
        return nil
    }

    func handleResponse(_ response: inout Response, request: Request, context: RequestContext) {
        let started = context.timingStart ?? .now
        metrics(of: request.path).record(status: Int(response.status.code), duration: .now - started)
    }

    /// The handles of `path`'s route, or of `other`.
    private func metrics(of path: Substring) -> AdminRouteMetrics {
        let length = path.utf8.count
        for route in routes where route.path.utf8.count == length && route.path == path { return route.metrics }
        return other
    }
}
