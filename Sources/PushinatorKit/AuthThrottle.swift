import Synchronization

/// Limits failed `auth` attempts per client address and user id (brute-force protection).
///
/// Failures count per (address, user) pair, so behind a proxy or a NAT one user's failures do not lock out the
/// other users who share the address. The table is bounded: past ``maxTracked`` pairs, expired entries are
/// dropped, then the pair with the oldest last failure.
public final class AuthThrottle: Sendable {
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])
    /// The most failures allowed per (address, user) within ``window``.
    public let limit: Int
    /// The window failures are counted in.
    public let window: Duration
    /// The most (address, user) pairs tracked at once.
    public let maxTracked: Int

    /// Creates a throttle.
    /// - Parameters:
    ///   - limit: Failures allowed per (address, user) within `window`; default 20.
    ///   - window: How long a failure counts; default a minute.
    ///   - maxTracked: The most pairs remembered; default 100,000.
    public init(limit: Int = 20, window: Duration = .seconds(60), maxTracked: Int = 100_000) {
        self.limit = limit
        self.window = window
        self.maxTracked = max(1, maxTracked)
    }

    /// Whether `address` may try to authenticate as `user` now.
    public func allows(_ address: String, user: String) -> Bool {
        let now = ContinuousClock.now
        let key = Self.key(address, user)
        return failures.withLock { failures in
            let recent = (failures[key] ?? []).filter { now - $0 < window }
            failures[key] = recent.isEmpty ? nil : recent
            return recent.count < limit
        }
    }

    /// Records a failed attempt from `address` as `user`.
    public func recordFailure(_ address: String, user: String) {
        let now = ContinuousClock.now
        let key = Self.key(address, user)
        failures.withLock { failures in
            if failures[key] == nil, failures.count >= maxTracked {
                failures = failures.filter { _, times in times.contains { now - $0 < window } }
                if failures.count >= maxTracked,
                    let oldest = failures.min(by: { ($0.value.last ?? now) < ($1.value.last ?? now) })?.key
                {
                    failures[oldest] = nil
                }
            }
            var times = failures[key] ?? []
            if times.count >= limit { times.removeFirst(times.count - limit + 1) }  // keep at most `limit`
            times.append(now)
            failures[key] = times
        }
    }

    /// The number of (address, user) pairs remembered.
    public var trackedCount: Int { failures.withLock { $0.count } }

    private static func key(_ address: String, _ user: String) -> String { address + "\u{0}" + user }
}
