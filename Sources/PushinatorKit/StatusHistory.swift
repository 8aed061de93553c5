public import ServiceLifecycle
import Synchronization

/// Messages per second over the last minutes, for the status page: a bounded ring of one sample per
/// ``interval``, filled by the service ``sampler(sent:delivered:)`` returns.
public final class StatusHistory: Sendable {
    /// One interval's traffic.
    public struct Sample: Sendable, Equatable {
        /// Messages the backend sent (admin `/user/send` and `/broadcast` calls).
        public var sent: Int
        /// Copies handed to sockets.
        public var delivered: Int
    }

    private struct Ring {
        var samples: [Sample] = []
        var next = 0
        var last: (sent: Int, delivered: Int)?
    }

    /// The samples kept (older ones are forgotten). Default 300.
    public let capacity: Int
    /// The length of one sample. Default 1 s: the default ring holds the last 5 minutes.
    public let interval: Duration
    private let ring = Mutex(Ring())

    /// Creates an empty history.
    /// - Parameters:
    ///   - capacity: The samples kept. Default 300.
    ///   - interval: The length of one sample. Default 1 s.
    public init(capacity: Int = 300, interval: Duration = .seconds(1)) {
        self.capacity = max(2, capacity)
        self.interval = interval
    }

    /// The kept samples, oldest first.
    public var samples: [Sample] {
        ring.withLock { ring in
            guard ring.samples.count == capacity else { return ring.samples }
            return Array(ring.samples[ring.next...] + ring.samples[..<ring.next])
        }
    }

    /// Records the totals at the end of an interval; the first call only sets the baseline.
    func record(sent: Int, delivered: Int) {
        ring.withLock { ring in
            defer { ring.last = (sent, delivered) }
            guard let last = ring.last else { return }
            let sample = Sample(sent: max(0, sent - last.sent), delivered: max(0, delivered - last.delivered))
            if ring.samples.count < capacity {
                ring.samples.append(sample)
            } else {
                ring.samples[ring.next] = sample
                ring.next = (ring.next + 1) % capacity
            }
        }
    }

    /// A service that reads the totals every ``interval`` until graceful shutdown.
    public func sampler(sent: @escaping @Sendable () -> Int, delivered: @escaping @Sendable () -> Int) -> some Service {
        StatusSampler(history: self, sent: sent, delivered: delivered)
    }
}

/// Fills a ``StatusHistory``.
struct StatusSampler: Service {
    let history: StatusHistory
    let sent: @Sendable () -> Int
    let delivered: @Sendable () -> Int

    func run() async throws {
        await cancelWhenGracefulShutdown {
            history.record(sent: sent(), delivered: delivered())
            while !Task.isCancelled {
                try? await Task.sleep(for: history.interval)
                history.record(sent: sent(), delivered: delivered())
            }
        }
    }
}
