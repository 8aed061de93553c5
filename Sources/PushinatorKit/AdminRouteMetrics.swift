import Prometheus
import Synchronization

/// The metric handles of one admin route: a request counter per status and a latency histogram.
///
/// The handles are looked up in the registry (descriptor, labels and name checks under the registry's lock) the
/// first time the route answers, and with each new status, then kept here: recording an answer is a small
/// uncontended lock, an increment and a histogram observation. Only the routes and statuses seen are scraped.
final class AdminRouteMetrics: Sendable {
    private struct Handles {
        var counters: [Int: Counter] = [:]
        /// The counter of the last status recorded (most answers of a route have one status): no lookup.
        var last: (status: Int, counter: Counter)?
        var latency: DurationHistogram?
    }

    private let route: String
    private let registry: PrometheusCollectorRegistry
    private let handles = Mutex(Handles())

    init(route: String, registry: PrometheusCollectorRegistry) {
        self.route = route
        self.registry = registry
    }

    /// Records one answer.
    func record(status: Int, duration: Duration) {
        let (counter, latency) = handles.withLock { handles in
            let latency = handles.latency ?? registry.makeDurationHistogram(
                descriptor: .init(namespace: "pushinator", metricName: "admin_request_duration", unitName: "seconds", helpText: "admin API latency"),
                labels: [("route", route)],
                buckets: [.microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(2)]
            )
            handles.latency = latency
            if let last = handles.last, last.status == status { return (last.counter, latency) }
            if let counter = handles.counters[status] {
                handles.last = (status, counter)
                return (counter, latency)
            }
            let counter = registry.makeCounter(
                descriptor: .init(namespace: "pushinator", metricName: "admin_requests", unitName: "total", helpText: "admin API requests by route and status"),
                labels: [("route", route), ("status", String(status))]
            )
            if handles.counters.count < 64 { handles.counters[status] = counter }  // statuses are few; a guard
            return (counter, latency)
        }
        counter.increment()
        latency.record(duration)
    }
}
