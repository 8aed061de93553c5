import Synchronization

/// One thread's admin request counts, for ``AdminRequestMetrics``: per route, a count per status and the latency
/// histogram (a count per bucket, not cumulative, and the sum in nanoseconds).
///
/// Only the thread that owns it writes (``record(route:statusSlot:nanoseconds:)``: a relaxed load and a relaxed store
/// per slot, plain moves on x86 and ARM, no lock, no read-modify-write instruction, no allocation); any thread
/// reads (``value(at:)``) when Prometheus scrapes. Each slot only grows, so a scrape never sees a count go down.
final class AdminRequestCounts: @unchecked Sendable {  // the slots are atomics, the pointer never changes
    /// Statuses `c00` to `c31` of each class `1xx` to `5xx` have a slot: every status HTTP defines. Any other
    /// status is counted by ``AdminRequestMetrics`` apart (under a lock: never on a path the server takes).
    static let statusesPerClass = 32
    static let statusSlots = 5 * statusesPerClass
    /// The histogram's upper bounds, in nanoseconds: 100 µs, 500 µs, 1 ms, 5 ms, 25 ms, 100 ms, 500 ms, 2 s.
    static let bounds: [Int] = [100_000, 500_000, 1_000_000, 5_000_000, 25_000_000, 100_000_000, 500_000_000, 2_000_000_000]
    /// A route's slots: the statuses, one per bucket and one for `+Inf`, the sum.
    static let slotsPerRoute = statusSlots + bounds.count + 2
    static func bucketSlot(_ bucket: Int) -> Int { statusSlots + bucket }
    static let sumSlot = statusSlots + bounds.count + 1

    /// The slot of `status`, or `nil` for a status without one.
    @inline(__always)
    static func statusSlot(_ status: Int) -> Int? {
        let (statusClass, offset) = status.quotientAndRemainder(dividingBy: 100)
        guard (1...5).contains(statusClass), offset < statusesPerClass else { return nil }
        return (statusClass - 1) * statusesPerClass + offset
    }

    /// The bucket of a latency: the first of ``bounds`` at or above it, or `bounds.count` (`+Inf`). Written out as
    /// comparisons with constants (a test checks them against ``bounds``), cheaper than a loop over the array.
    @inline(__always)
    static func bucket(of nanoseconds: Int) -> Int {
        switch nanoseconds {
        case ...100_000: 0
        case ...500_000: 1
        case ...1_000_000: 2
        case ...5_000_000: 3
        case ...25_000_000: 4
        case ...100_000_000: 5
        case ...500_000_000: 6
        case ...2_000_000_000: 7
        default: 8
        }
    }

    private let slots: UnsafeMutablePointer<Atomic<Int>>
    let count: Int

    /// - Parameter routes: How many routes are counted (``slotsPerRoute`` slots each).
    init(routes: Int) {
        count = routes * Self.slotsPerRoute
        slots = .allocate(capacity: count)
        for index in 0..<count { (slots + index).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    /// Records one answer of `route`; on the owning thread only.
    /// - Parameters:
    ///   - statusSlot: From ``statusSlot(_:)``; `nil` when the status is counted elsewhere.
    ///   - nanoseconds: The request's latency.
    @inline(__always)
    func record(route: Int, statusSlot: Int?, nanoseconds: Int) {
        let base = route * Self.slotsPerRoute
        if let statusSlot { bump(base + statusSlot, by: 1) }
        bump(base + Self.bucketSlot(Self.bucket(of: nanoseconds)), by: 1)
        bump(base + Self.sumSlot, by: nanoseconds)
    }

    @inline(__always)
    private func bump(_ index: Int, by amount: Int) {
        let slot = slots + index
        slot.pointee.store(slot.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// The value of slot `index` (`route * slotsPerRoute + slot`); from any thread.
    func value(at index: Int) -> Int { (slots + index).pointee.load(ordering: .relaxed) }
}
