#if canImport(Glibc)
import Glibc
#endif
public import Prometheus
import EngineIO
import PushinatorRuntime
import PushinatorSocketIO

/// pushinator's Prometheus metrics, served as `GET /metrics` on the admin listener.
///
/// Counters are bumped once per event that is not per recipient (an `auth`; an admin request, counted per thread by
/// ``AdminRequestMetrics`` without a lock); messages sent and
/// delivered are totals the app keeps anyway (``TotalCounter``), followed when Prometheus scrapes, like the gauges
/// (connections, users, memory, file descriptors), so the message fan-out and `/user/send` pay nothing for them.
/// `admin.metrics: false` makes none of this (``PushApp/metrics`` is `nil`). See `Documentation/operations.md`.
public final class PushMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    let authAccepted: Counter
    let authRefused: Counter
    let authThrottled: Counter
    /// The metrics read from the servers when Prometheus scrapes (transports, upgrades, slow consumers...).
    private let scraped: ScrapedMetrics
    let memoryBudget = MemoryBudgetMetrics()

    /// Creates the metrics.
    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        func auth(_ result: String) -> Counter {
            registry.makeCounter(
                descriptor: .init(namespace: "pushinator", metricName: "auth", unitName: "total", helpText: "auth events by result"),
                labels: [("result", result)]
            )
        }
        authAccepted = auth("accepted")
        authRefused = auth("refused")
        authThrottled = auth("throttled")
        scraped = ScrapedMetrics(registry: registry)
        adminRequests = AdminRequestMetrics(routes: AdminRouter.countedRoutes + ["other"])
    }

    /// The admin API's requests by route and status and their latency (counted per thread, summed at the scrape).
    let adminRequests: AdminRequestMetrics

    /// Reads the gauges from `app` and renders the exposition text.
    public func scrape(_ app: PushApp) -> [UInt8] {
        func gauge(_ name: String, _ unit: String, _ help: String, _ value: Int) {
            registry.makeGauge(descriptor: .init(namespace: "pushinator", metricName: name, unitName: unit, helpText: help)).set(Int64(value))
        }
        gauge("connections", "", "open Socket.IO connections of the client namespace", app.clients.socketCount)
        gauge("users_registered", "", "registered users", app.users.count)
        gauge("users_authenticated", "", "registered users with at least one authenticated socket", app.users.connectedCount)
        gauge("resident_memory", "bytes", "resident set size", ProcessMemory.current().resident)
        gauge("uptime", "seconds", "seconds since start", Int((ContinuousClock.now - app.startedAt).components.seconds))
        let (open, limit) = Self.fileDescriptors()
        gauge("open_fds", "", "open file descriptors", open)
        gauge("max_fds", "", "the file-descriptor limit (soft)", limit)
        if let cluster = app.cluster?.status {
            gauge("cluster_nodes", "", "nodes of the cluster alive, this one included", cluster.servers)
            gauge("cluster_connected", "", "1 while the node reaches the cluster's database", cluster.connected ? 1 : 0)
            gauge("cluster_pending_publishes", "", "cluster messages waiting to be published", cluster.pendingPublishes)
            gauge("cluster_dropped_publishes", "", "cluster messages dropped since start (not published in time)", cluster.droppedPublishes)
            gauge("cluster_dropped_messages", "", "invalid cluster messages dropped since start", cluster.droppedMessages)
            if let forwarded = (app.io.engine.forwarder as? ClusterSessionForwarder)?.statistics {
                gauge("cluster_forwarded_requests", "", "polling requests forwarded to their session's node since start", forwarded.requests)
                gauge("cluster_forwarded_upgrades", "", "WebSocket upgrades forwarded to their session's node since start", forwarded.upgrades)
                gauge("cluster_forwarding_failures", "", "requests that could not be forwarded since start (502, 503, 504)", forwarded.failures)
                gauge("cluster_unknown_sessions", "", "requests for sessions of no node alive since start (400)", forwarded.unknownSessions)
            }
            gauge("cluster_received_messages", "", "cluster messages received from the other nodes since start", cluster.receivedMessages)
            if let lag = cluster.busLag {
                gauge("cluster_bus_lag", "milliseconds", "how long this node's own messages take to come back over the bus", PushApp.milliseconds(lag))
            }
        }
        memoryBudget.update(registry)
        scraped.update(from: app)
        var text = registry.emitToBuffer()
        adminRequests.emit(into: &text)
        return text
    }

    /// Open descriptors (entries of /proc/self/fd) and the soft limit (0 when it cannot be read).
    static func fileDescriptors() -> (open: Int, limit: Int) {
        var open = 0
        if let directory = opendir("/proc/self/fd") {
            while readdir(directory) != nil { open += 1 }
            closedir(directory)
            open = max(0, open - 3)  // ".", ".." and the directory's own descriptor
        }
        return (open, OpenFileLimit.current.map { Int(clamping: $0.soft) } ?? 0)
    }
}
