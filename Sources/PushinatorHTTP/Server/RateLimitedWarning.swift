import Synchronization

/// Says when a recurring warning may be logged again: at most once per interval, with the number of occurrences
/// since the last one (the rest are logged at debug level by the caller).
final class RateLimitedWarning: Sendable {
    private struct State {
        var last: ContinuousClock.Instant?
        var occurrences = 0
    }

    private let interval: Duration
    private let state = Mutex(State())

    init(interval: Duration) { self.interval = interval }

    /// Records an occurrence.
    /// - Returns: The occurrences since the last warning (this one included) when a warning is due, else `nil`.
    func due(now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            state.occurrences += 1
            if let last = state.last, now - last < interval { return nil }
            state.last = now
            defer { state.occurrences = 0 }
            return state.occurrences
        }
    }
}
