import Synchronization

/// A count since start that any thread may add to and read: messages sent and delivered, read by the status page
/// (as a rate) and by ``PushMetrics`` when Prometheus scrapes.
///
/// One relaxed atomic addition per increment, no lock, no allocation and no metrics backend: it costs the same
/// whether `admin.metrics` is on or off.
final class TotalCounter: Sendable {
    private let total = Atomic<Int>(0)

    init() {}

    /// Adds `amount`.
    func increment(by amount: Int = 1) {
        total.add(amount, ordering: .relaxed)
    }

    /// The total since start.
    var value: Int { total.load(ordering: .relaxed) }
}
