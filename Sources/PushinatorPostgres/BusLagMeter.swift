/// Measures the bus lag of a node: how long its own messages take from the start of their publish to their
/// notification arriving back on its listening connection (or to their log row, in a catch-up). Both ends are on
/// this node's clock, so no clock skew between machines enters the measure.
///
/// ``lag(now:)`` is the last measured lag, or the age of the oldest message still waiting for its echo when that
/// is larger: a bus that stopped delivering shows a lag that grows, even before the next echo.
struct BusLagMeter: Sendable {
    /// The most messages waiting for their echo that are remembered (others are not measured).
    static let maxPending = 10_000

    /// When the publish of each log id waiting for its echo started.
    private var pending: [Int64: ContinuousClock.Instant] = [:]
    /// Echoes that arrived before their publish returned its log ids (the two race): when they arrived.
    private var early: [Int64: ContinuousClock.Instant] = [:]
    /// The lag of the last echo.
    private(set) var last: Duration?
    /// A message older than this that never came back is forgotten (its namespace was not listened to yet).
    let forgetAfter: Duration

    init(forgetAfter: Duration = .seconds(300)) {
        self.forgetAfter = forgetAfter
    }

    /// The publish that started at `start` committed the log ids `ids`.
    mutating func published(_ ids: some Sequence<Int64>, startedAt start: ContinuousClock.Instant) {
        for id in ids {
            if let arrival = early.removeValue(forKey: id) {
                last = max(.zero, arrival - start)
            } else if pending.count < Self.maxPending {
                pending[id] = start
            }
        }
    }

    /// This node's own message with log id `id` came back at `now`.
    mutating func echoed(_ id: Int64, at now: ContinuousClock.Instant) {
        if let start = pending.removeValue(forKey: id) {
            last = now - start
        } else if early.count < Self.maxPending {
            early[id] = now
        }
    }

    /// The bus lag at `now` (`nil` before the first measure); forgets what waited longer than ``forgetAfter``.
    mutating func lag(now: ContinuousClock.Instant) -> Duration? {
        var oldest: Duration?
        var forgotten: [Int64] = []
        for (id, start) in pending {
            let age = now - start
            if age > forgetAfter {
                forgotten.append(id)
            } else if age > (oldest ?? .zero) {
                oldest = age
            }
        }
        for id in forgotten { pending[id] = nil }
        if early.count > Self.maxPending / 2 { early.removeAll() }  // their publishes failed or were forgotten
        guard let oldest else { return last }
        return max(oldest, last ?? .zero)
    }
}
