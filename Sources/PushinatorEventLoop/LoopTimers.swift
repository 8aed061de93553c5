public import NIOCore

/// Timers for the many connections of one event loop, all served by one NIO timer.
///
/// Every connection has a timer or two (request deadlines, Engine.IO heartbeats, connect and upgrade timeouts).
/// NIO keeps scheduled tasks in one heap per event loop, allocates a promise per task, and cancels a task with a
/// linear search of that heap: with 20,000 connections each pong (two cancellations) and each new connection
/// scanned tens of thousands of tasks. Here scheduling is a heap insertion, cancelling is O(1) (the timer drops its
/// action at once and leaves the heap when its deadline comes, or earlier when the heap is compacted), and NIO
/// holds one task per event loop: the earliest deadline.
///
/// Confined to its event loop: get it with ``on(_:)`` and use it, and the timers it returns, on that loop only.
///
/// ```swift
/// // in a channel handler, on its loop
/// pongDeadline = LoopTimers.on(context.eventLoop).schedule(in: .seconds(20)) { [weak self] in self?.timedOut() }
/// ...
/// pongDeadline?.cancel()  // O(1); the action and what it captured are released at once
/// ```
public final class LoopTimers: @unchecked Sendable {
    /// A pending action; ``cancel()`` releases it (and whatever it captured) immediately.
    ///
    /// Confined to the event loop of the ``LoopTimers`` that made it.
    public final class Timer {
        @usableFromInline var action: (() -> Void)?

        @usableFromInline init(_ action: @escaping () -> Void) { self.action = action }

        /// Stops the timer; it does nothing when it already fired or was cancelled.
        @inlinable
        public func cancel() { action = nil }

        /// Whether the timer has neither fired nor been cancelled.
        @inlinable
        public var isPending: Bool { action != nil }
    }

    @usableFromInline
    struct Entry {
        let deadline: NIODeadline
        /// Breaks ties so that timers with the same deadline fire in the order they were scheduled.
        let sequence: UInt64
        let timer: Timer

        @usableFromInline
        init(deadline: NIODeadline, sequence: UInt64, timer: Timer) {
            self.deadline = deadline
            self.sequence = sequence
            self.timer = timer
        }

        func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    @usableFromInline let eventLoop: any EventLoop
    private var heap: [Entry] = []
    /// The heap size at which cancelled entries are dropped: twice the size after the last compaction, so cancelled
    /// entries never outnumber live ones by much and the scan costs O(1) per insertion on average.
    private var compactionThreshold = LoopTimers.minimumCompactionThreshold
    private static let minimumCompactionThreshold = 4096
    @usableFromInline var sequence: UInt64 = 0
    /// The NIO task that fires at the earliest deadline, and that deadline.
    private var wakeUp: (task: Scheduled<Void>, at: NIODeadline)?
    /// Set while due timers run: timers they schedule are picked up when they are done.
    private var isFiring = false

    private init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    /// The timers of `eventLoop`, made on first use; call it on that loop.
    /// - Parameter eventLoop: The loop the calling code runs on.
    /// - Returns: The same object for every call on the same loop.
    @inlinable
    public static func on(_ eventLoop: any EventLoop) -> LoopTimers {
        eventLoop.assertInEventLoop()
        return registry.value(for: eventLoop)
    }

    /// Runs `action` on the loop after `delay`, unless the returned timer is cancelled first.
    /// - Parameters:
    ///   - delay: How long from now.
    ///   - action: What to run; it may schedule more timers.
    /// - Returns: The timer, to cancel it.
    @inlinable
    public func schedule(in delay: TimeAmount, _ action: @escaping () -> Void) -> Timer {
        schedule(at: .now() + delay, action)
    }

    /// Runs `action` on the loop at `deadline`, unless the returned timer is cancelled first.
    ///
    /// Timers with the same deadline fire in the order they were scheduled.
    /// - Parameters:
    ///   - deadline: When to run it; a deadline in the past runs it in the next tick of the loop.
    ///   - action: What to run; it may schedule more timers.
    /// - Returns: The timer, to cancel it.
    @inlinable
    public func schedule(at deadline: NIODeadline, _ action: @escaping () -> Void) -> Timer {
        eventLoop.assertInEventLoop()
        let timer = Timer(action)
        sequence &+= 1
        push(Entry(deadline: deadline, sequence: sequence, timer: timer))
        armWakeUp()
        return timer
    }

    /// The number of entries in the heap, cancelled ones included (they leave at their deadline or when the heap is
    /// compacted).
    public var entryCount: Int { heap.count }

    // MARK: Firing

    @usableFromInline
    func armWakeUp() {
        guard !isFiring, let first = heap.first else { return }
        if let wakeUp, wakeUp.at <= first.deadline { return }
        wakeUp?.task.cancel()
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let task = eventLoop.scheduleTask(deadline: first.deadline) { bound.value.fire() }
        wakeUp = (task, first.deadline)
    }

    private func fire() {
        wakeUp = nil
        isFiring = true
        let now = NIODeadline.now()
        while let first = heap.first, first.deadline <= now {
            popFirst()
            guard let action = first.timer.action else { continue }
            first.timer.action = nil
            action()  // may schedule more timers
        }
        isFiring = false
        armWakeUp()
    }

    // MARK: Binary heap ordered by deadline

    @usableFromInline
    func push(_ entry: Entry) {
        if heap.count >= compactionThreshold { compact() }
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func popFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(from: 0)
    }

    /// Drops the cancelled entries and restores the heap order (bottom-up, O(n)).
    private func compact() {
        heap.removeAll { $0.timer.action == nil }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(from: index) }
        compactionThreshold = max(Self.minimumCompactionThreshold, 2 * heap.count)
    }

    private func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { break }
            let right = left + 1
            let child = right < heap.count && heap[right].precedes(heap[left]) ? right : left
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            parent = child
        }
    }

    // MARK: One instance per event loop

    @usableFromInline static let registry = PerLoop<LoopTimers> { LoopTimers(eventLoop: $0) }
}
