import Synchronization

/// Limits failed `auth` attempts per client address and user id (brute-force protection).
///
/// Failures are counted per (address, userId): `limit` failures within `window` refuse that pair until the
/// window ends, so one user's failures (or an attacker's guesses for one user) do not lock out the other users
/// of the same address (everyone behind a proxy). The table holds at most ``maxTracked`` pairs: when it is full,
/// expired entries go first, then entries that are not locked out, then the oldest, so a flood of distinct keys
/// cannot grow it without limit.
public final class AuthThrottle: Sendable {
    private struct Key: Hashable {
        let address: String
        let userID: String
    }

    private struct Entry {
        var failures: Int
        var windowStart: ContinuousClock.Instant
    }

    private let entries = Mutex<[Key: Entry]>([:])
    /// The most failures allowed per (address, userId) within ``window``.
    public let limit: Int
    /// The window failures are counted in, from the first failure.
    public let window: Duration
    /// The most (address, userId) pairs remembered.
    public let maxTracked: Int

    /// Creates a throttle.
    /// - Parameters:
    ///   - limit: Failures per (address, userId) within `window` (default 20).
    ///   - window: How long failures count (default 60 s).
    ///   - maxTracked: The most pairs remembered (default 100,000, about 10 MB at the longest user ids).
    public init(limit: Int = 20, window: Duration = .seconds(60), maxTracked: Int = 100_000) {
        self.limit = max(1, limit)
        self.window = window
        self.maxTracked = max(1, maxTracked)
    }

    /// Whether `address` may try to authenticate as `user` now.
    public func allows(_ address: String, user: String, now: ContinuousClock.Instant = .now) -> Bool {
        let key = Key(address: address, userID: user)
        return entries.withLock { entries in
            guard let entry = entries[key] else { return true }
            if now - entry.windowStart >= window {
                entries[key] = nil
                return true
            }
            return entry.failures < limit
        }
    }

    /// Records a failed attempt from `address` as `user`.
    public func recordFailure(_ address: String, user: String, now: ContinuousClock.Instant = .now) {
        let key = Key(address: address, userID: user)
        entries.withLock { entries in
            if var entry = entries[key], now - entry.windowStart < window {
                entry.failures += 1
                entries[key] = entry
                return
            }
            if entries[key] == nil, entries.count >= maxTracked { evict(from: &entries, now: now) }
            entries[key] = Entry(failures: 1, windowStart: now)
        }
    }

    /// The number of (address, userId) pairs remembered now.
    public var trackedCount: Int { entries.withLock { $0.count } }

    /// Frees at least a quarter of the table: expired entries, then ones not locked out, then the oldest.
    private func evict(from entries: inout [Key: Entry], now: ContinuousClock.Instant) {
        let target = maxTracked - max(1, maxTracked / 4)
        entries = entries.filter { now - $0.value.windowStart < window }
        if entries.count > target { entries = entries.filter { $0.value.failures >= limit } }
        if entries.count > target {
            let oldest = entries.sorted { $0.value.windowStart < $1.value.windowStart }.prefix(entries.count - target)
            for (key, _) in oldest { entries[key] = nil }
        }
    }
}
