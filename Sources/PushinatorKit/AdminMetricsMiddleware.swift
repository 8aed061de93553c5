import HTTPTypes
import NIOCore
import PushinatorHTTP

/// The admin API's request log line (the ``RequestLogMiddleware`` it wraps) and, for ``PushMetrics``, its requests
/// counted by route and status and timed, in one middleware layer: each layer copies the request context (a few
/// hundred instructions per request), so the metrics do not add one. Synchronous, so the admin routes keep their
/// fast path. With `admin.metrics: false` the router has the ``RequestLogMiddleware`` alone.
///
/// A request costs two reads of the monotonic clock, a scan of the route list and three additions to the calling thread's
/// ``AdminRequestCounts``: no lock, no allocation, no registry lookup.
struct AdminMetricsMiddleware: SynchronousMiddleware {
    private let log: RequestLogMiddleware
    private let metrics: AdminRequestMetrics
    /// The routes counted by name, the busiest first; anything else is `other` (the last index of `metrics`), so
    /// clients cannot grow the label set. A short list compared by length first costs less than hashing the path.
    private let routes: [String]

    /// - Parameters:
    ///   - log: The request log, run in this layer.
    ///   - metrics: Where the requests are counted; its routes are `routes`, then `other`.
    ///   - routes: The paths counted by name, in the order they are looked up (busiest first).
    init(log: RequestLogMiddleware, metrics: AdminRequestMetrics, routes: [String]) {
        self.log = log
        self.metrics = metrics
        self.routes = routes
    }

    func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? {
        if let early = try log.handleRequest(request, context: &context) { return early }
        context.timingStart = .now()
        return nil
    }

    func handleResponse(_ response: inout Response, request: Request, context: RequestContext) {
        if let started = context.timingStart {
            let nanoseconds = Int((NIODeadline.now() - started).nanoseconds)
            metrics.record(route: route(of: request.path), status: response.status.code, nanoseconds: nanoseconds)
        }
        log.handleResponse(&response, request: request, context: context)
    }

    /// The index of `path`'s route, or of `other`.
    private func route(of path: Substring) -> Int {
        let length = path.utf8.count
        for (index, route) in routes.enumerated() where route.utf8.count == length && route == path { return index }
        return routes.count
    }
}
