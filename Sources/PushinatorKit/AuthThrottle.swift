import Synchronization

/// Limits failed `auth` attempts per client address (brute-force protection).
public final class AuthThrottle: Sendable {
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])
    /// The most failures allowed per address within ``window``.
    public let limit: Int
    /// The window failures are counted in.
    public let window: Duration

    /// Creates a throttle.
    public init(limit: Int = 20, window: Duration = .seconds(60)) {
        self.limit = limit
        self.window = window
    }

    /// Whether `address` may try again now.
    public func allows(_ address: String) -> Bool {
        let now = ContinuousClock.now
        return failures.withLock { failures in
            let recent = (failures[address] ?? []).filter { now - $0 < window }
            failures[address] = recent.isEmpty ? nil : recent
            return recent.count < limit
        }
    }

    /// Records a failed attempt from `address`.
    public func recordFailure(_ address: String) {
        failures.withLock { $0[address, default: []].append(.now) }
    }
}
