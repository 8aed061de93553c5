import Prometheus
import Synchronization

/// A Prometheus counter that follows a total kept elsewhere: each scrape adds what the total grew by, so the path
/// that keeps the total pays nothing for the metric.
final class FollowingCounter: Sendable {
    private let counter: Counter
    private let seen = Mutex(0)

    init(_ counter: Counter) { self.counter = counter }

    /// Brings the counter up to `total` (a total that went down, which none does, is ignored).
    func follow(_ total: Int) {
        seen.withLock { seen in
            guard total > seen else { return }
            counter.increment(by: Int64(total - seen))
            seen = total
        }
    }
}
