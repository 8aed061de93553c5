import Prometheus
import Synchronization

/// A Prometheus counter whose total can also be read (the status page turns it into a rate).
///
/// Two relaxed atomic additions per increment, no lock and no allocation: it is bumped once per admin call.
final class TotalCounter: Sendable {
    private let counter: Counter
    private let total = Atomic<Int>(0)

    init(_ counter: Counter) { self.counter = counter }

    /// Adds one.
    func increment() { increment(by: 1) }

    /// Adds `amount`.
    func increment(by amount: Int64) {
        counter.increment(by: amount)
        total.add(Int(amount), ordering: .relaxed)
    }

    /// The total since start.
    var value: Int { total.load(ordering: .relaxed) }
}
