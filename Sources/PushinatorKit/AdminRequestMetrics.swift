import Prometheus
import PushinatorEventLoop
import Synchronization

/// The admin API's request counts by route and status and its latency histogram by route
/// (`pushinator_admin_requests_total`, `pushinator_admin_request_duration_seconds`), kept without a lock or an
/// allocation per request and summed when Prometheus scrapes.
///
/// Each thread that answers admin requests (an event loop, or a task's thread for a route that suspends) counts into
/// its own ``AdminRequestCounts``, made the first time: no lock, no atomic read-modify-write, no cache line shared
/// between loops. The scrape adds the threads' counts up (under a lock, with allocations: the scrape is not a hot
/// path) and renders the two families as swift-prometheus renders its own. Only routes and statuses seen are
/// rendered.
final class AdminRequestMetrics: Sendable {
    /// Every thread's counts, for the scrape.
    private final class Threads: Sendable {
        let counts = Mutex<[AdminRequestCounts]>([])
    }

    /// The route names, by index (the last one is `other`).
    let routes: [String]
    private let threads = Threads()
    private let perThread: PerThread<AdminRequestCounts>
    /// Answers whose status has no slot (`route * 1000 + status` to count): none the server sends.
    private let unusualStatuses = Mutex<[Int: Int]>([:])

    /// - Parameter routes: The route names, by index.
    init(routes: [String]) {
        self.routes = routes
        let (threads, count) = (threads, routes.count)
        perThread = PerThread {
            let counts = AdminRequestCounts(routes: count)
            threads.counts.withLock { $0.append(counts) }
            return counts
        }
    }

    /// Records one answer of route `route` (an index of ``routes``) on the calling thread's counts.
    @inline(__always)
    func record(route: Int, status: Int, nanoseconds: Int) {
        let statusSlot = AdminRequestCounts.statusSlot(status)
        perThread.currentValue.record(route: route, statusSlot: statusSlot, nanoseconds: max(0, nanoseconds))
        if statusSlot == nil {
            unusualStatuses.withLock { $0[route * 1000 + min(max(status, 0), 999), default: 0] += 1 }
        }
    }

    /// The counts of every thread added up: `slotsPerRoute` values per route.
    private func totals() -> [Int] {
        let counts = threads.counts.withLock { $0 }
        var totals = [Int](repeating: 0, count: routes.count * AdminRequestCounts.slotsPerRoute)
        for thread in counts {
            for index in totals.indices { totals[index] += thread.value(at: index) }
        }
        return totals
    }

    /// Appends the two families in the exposition format, as swift-prometheus renders a counter and a histogram.
    func emit(into buffer: inout [UInt8]) {
        let totals = totals()
        let unusual = unusualStatuses.withLock { $0 }
        let perRoute = AdminRequestCounts.slotsPerRoute
        var requests: [(route: Int, status: Int, count: Int)] = []
        for route in routes.indices {
            for status in 100..<600 {
                guard let slot = AdminRequestCounts.statusSlot(status), totals[route * perRoute + slot] > 0 else { continue }
                requests.append((route, status, totals[route * perRoute + slot]))
            }
        }
        for (key, count) in unusual { requests.append((key / 1000, key % 1000, count)) }
        requests.sort { ($0.route, $0.status) < ($1.route, $1.status) }
        guard !requests.isEmpty else { return }

        func append(_ text: String) { buffer.append(contentsOf: text.utf8) }
        let counter = "pushinator_admin_requests_total"
        append("# HELP \(counter) admin API requests by route and status\n# TYPE \(counter) counter\n")
        for (route, status, count) in requests {
            append("\(counter){route=\"\(routes[route])\",status=\"\(status)\"} \(count)\n")
        }
        let histogram = "pushinator_admin_request_duration_seconds"
        append("# HELP \(histogram) admin API latency\n# TYPE \(histogram) histogram\n")
        for route in routes.indices {
            let base = route * perRoute
            let buckets = (0...AdminRequestCounts.bounds.count).map { totals[base + AdminRequestCounts.bucketSlot($0)] }
            let count = buckets.reduce(0, +)
            guard count > 0 else { continue }
            let label = "route=\"\(routes[route])\""
            var cumulative = 0
            for (bucket, bound) in AdminRequestCounts.bounds.enumerated() {
                cumulative += buckets[bucket]
                append("\(histogram)_bucket{\(label),le=\"\(Duration.nanoseconds(bound).bucketRepresentation)\"} \(cumulative)\n")
            }
            append("\(histogram)_bucket{\(label),le=\"+Inf\"} \(count)\n")
            append("\(histogram)_sum{\(label)} \(Duration.nanoseconds(totals[base + AdminRequestCounts.sumSlot]).bucketRepresentation)\n")
            append("\(histogram)_count{\(label)} \(count)\n")
        }
    }
}
