import Prometheus
import PushinatorHTTP
import Synchronization

/// The process-wide ``MemoryBudget`` as Prometheus metrics, read at scrape time (the budget's hot path pays
/// nothing): `pushinator_memory_budget_held_bytes` and `pushinator_memory_budget_limit_bytes` (gauges; the limit
/// is 0 when there is none) and `pushinator_memory_budget_refusals_total{use=...}` (a counter per use, every
/// use of the toolkit present from the first scrape).
final class MemoryBudgetMetrics: Sendable {
    /// The uses whose refusal counters are served from the start.
    static let uses: [MemoryBudget.Use] = [
        .httpRequestBody, .httpOutbound, .webSocketMessage, .webSocketOutbound, .pollingPayload, .binaryAttachments,
        .pollingOutbound, .recoveryBuffer, .offlineQueue,
    ]

    let budget: MemoryBudget
    /// The refusal counts already added to the counters, by use.
    private let exported = Mutex<[String: Int]>([:])

    init(budget: MemoryBudget = .shared) {
        self.budget = budget
    }

    /// Sets the gauges and brings the refusal counters up to the budget's counts.
    func update(_ registry: PrometheusCollectorRegistry) {
        registry.makeGauge(
            descriptor: .init(
                namespace: "pushinator",
                metricName: "memory_budget_held",
                unitName: "bytes",
                helpText: "bytes clients make the server hold, charged to the memory budget (limits.memoryBudget)"
            )
        ).set(Int64(budget.reserved))
        registry.makeGauge(
            descriptor: .init(
                namespace: "pushinator",
                metricName: "memory_budget_limit",
                unitName: "bytes",
                helpText: "the memory budget (limits.memoryBudget); 0: no limit"
            )
        ).set(Int64(budget.limit ?? 0))
        var counts = budget.refusalsByUse
        for use in Self.uses where counts[use.name] == nil { counts[use.name] = 0 }
        let deltas = exported.withLock { exported -> [(String, Int)] in
            var deltas: [(String, Int)] = []
            for (use, count) in counts.sorted(by: { $0.key < $1.key }) {
                deltas.append((use, count - exported[use, default: 0]))
                exported[use] = count
            }
            return deltas
        }
        for (use, delta) in deltas {
            let counter = registry.makeCounter(
                descriptor: .init(
                    namespace: "pushinator",
                    metricName: "memory_budget_refusals",
                    unitName: "total",
                    helpText: "what clients sent or made the server queue, refused because the memory budget was spent"
                ),
                labels: [("use", use)]
            )
            if delta > 0 { counter.increment(by: Int64(delta)) }
        }
    }
}
