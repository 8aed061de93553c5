public import NIOCore
public import ServiceLifecycle
import Synchronization

/// How late the event loops run their tasks: a task is scheduled on every loop each ``interval``, and the lag is
/// how much later than due it ran. A loop busy with long work (a huge broadcast, a blocking call) shows here first.
public final class EventLoopLag: Sendable {
    /// How often each loop is probed.
    public let interval: Duration
    /// The latest lag of each probed loop, in nanoseconds.
    private let latest = Mutex<[Int]>([])

    /// Creates a reading that ``probe(_:)`` keeps up to date.
    /// - Parameter interval: How often each loop is probed. Default 1 s.
    public init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// The largest latest lag over the loops (zero before the first probe).
    public var current: Duration { .nanoseconds(latest.withLock { $0.max() ?? 0 }) }

    /// A service that probes every loop of `group` until graceful shutdown.
    public func probe(_ group: any EventLoopGroup) -> some Service { EventLoopLagProbe(lag: self, group: group) }

    fileprivate func record(loop index: Int, lag: Int64) {
        latest.withLock { values in
            if values.count <= index { values.append(contentsOf: repeatElement(0, count: index + 1 - values.count)) }
            values[index] = Int(max(0, lag))
        }
    }
}

/// Schedules the ``EventLoopLag`` probe on each loop; a `Service` so that it stops with the app.
struct EventLoopLagProbe: Service {
    let lag: EventLoopLag
    let group: any EventLoopGroup

    func run() async throws {
        let (seconds, attoseconds) = lag.interval.components
        let delay = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        var tasks: [RepeatedTask] = []
        for (index, loop) in group.makeIterator().enumerated() {
            // Confined to `loop`: when the previous run ended; the next is due `delay` later.
            let previous = NIOLoopBoundBox.makeBoxSendingValue(NIODeadline.now(), eventLoop: loop)
            tasks.append(loop.scheduleRepeatedTask(initialDelay: delay, delay: delay) { [lag] _ in
                let now = NIODeadline.now()
                lag.record(loop: index, lag: (now - (previous.value + delay)).nanoseconds)
                previous.value = now
            })
        }
        try? await gracefulShutdown()
        for task in tasks { task.cancel() }
    }
}
