import NIOCore
import NIOPosix
@testable import PushinatorEventLoop
import Synchronization
import Testing

@Suite("Per-event-loop timers")
struct LoopTimersTests {
    /// Runs `body` on a fresh one-thread event loop and returns what it produced once `done` is called.
    private func onLoop<T: Sendable>(
        returning: T.Type,
        _ body: @escaping @Sendable (any EventLoop, LoopTimers, @escaping @Sendable (T) -> Void) -> Void
    ) async throws -> T {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let promise = loop.makePromise(of: T.self)
        loop.execute { body(loop, LoopTimers.on(loop), { promise.succeed($0) }) }
        let result = try await promise.futureResult.get()
        try await group.shutdownGracefully()
        return result
    }

    @Test func timersFireInDeadlineOrderThenInSchedulingOrder() async throws {
        let fired = try await onLoop(returning: [String].self) { _, timers, done in
            var order: [String] = []
            func record(_ name: String) {
                order.append(name)
                if order.count == 5 { done(order) }
            }
            let now = NIODeadline.now()
            _ = timers.schedule(at: now + .milliseconds(60)) { record("60ms") }
            _ = timers.schedule(at: now + .milliseconds(20)) { record("20ms-a") }
            _ = timers.schedule(at: now + .milliseconds(40)) { record("40ms") }
            _ = timers.schedule(at: now + .milliseconds(20)) { record("20ms-b") }
            _ = timers.schedule(at: now + .milliseconds(1)) { record("1ms") }
        }
        #expect(fired == ["1ms", "20ms-a", "20ms-b", "40ms", "60ms"])
    }

    @Test func cancelledTimerNeverFiresAndReleasesItsCapturesAtOnce() async throws {
        final class Captured: Sendable {}
        let outcome = try await onLoop(returning: [Bool].self) { _, timers, done in
            var captured: Captured? = Captured()
            weak let probe = captured
            var cancelledFired = false
            let timer = timers.schedule(in: .milliseconds(30)) { [captured] in
                _ = captured
                cancelledFired = true
            }
            captured = nil
            let pendingBefore = timer.isPending
            timer.cancel()
            let released = probe == nil  // before its deadline
            let pendingAfter = timer.isPending
            _ = timers.schedule(in: .milliseconds(60)) {
                done([pendingBefore, !pendingAfter, released, !cancelledFired])
            }
        }
        #expect(outcome == [true, true, true, true])
    }

    @Test func timerScheduledByAFiringTimerFires() async throws {
        let steps = try await onLoop(returning: [Int].self) { _, timers, done in
            var steps: [Int] = []
            _ = timers.schedule(in: .milliseconds(5)) {
                steps.append(1)
                // due at once, while the loop is still running the due timers
                _ = timers.schedule(in: .zero) { steps.append(2) }
                _ = timers.schedule(in: .milliseconds(10)) {
                    steps.append(3)
                    done(steps)
                }
            }
        }
        #expect(steps == [1, 2, 3])
    }

    @Test func manyCancelledTimersLeaveOnlyTheLiveOnesToFire() async throws {
        let counts = try await onLoop(returning: [Int].self) { _, timers, done in
            var fired = 0
            var pending: [LoopTimers.Timer] = []
            for index in 0..<10_000 {
                pending.append(timers.schedule(in: .milliseconds(Int64(20 + index % 7))) { fired += 1 })
            }
            for (index, timer) in pending.enumerated() where index % 100 != 0 { timer.cancel() }
            _ = timers.schedule(in: .milliseconds(80)) { done([fired, timers.entryCount]) }
        }
        #expect(counts[0] == 100)
        #expect(counts[1] == 0)  // cancelled entries left the heap at their deadline
    }

    @Test func cancelledTimersAreDroppedBeforeTheyOutnumberLiveOnes() async throws {
        // 50,000 timers scheduled and cancelled at once, far from their deadline, beside 1,000 live ones: the heap
        // is compacted as it grows, and the live timers still fire in deadline order
        let result = try await onLoop(returning: [Int].self) { _, timers, done in
            var order: [Int] = []
            var largest = 0
            let base = NIODeadline.now()
            for index in 0..<1_000 {
                _ = timers.schedule(at: base + .milliseconds(Int64(50 + index % 10))) { order.append(index % 10) }
            }
            for _ in 0..<50_000 {
                timers.schedule(in: .seconds(3600)) { order.append(-1) }.cancel()
                largest = max(largest, timers.entryCount)
            }
            _ = timers.schedule(in: .milliseconds(150)) {
                done([largest, order.count, order == order.sorted() ? 1 : 0, order.contains(-1) ? 1 : 0])
            }
        }
        #expect(result[0] <= 4_096 + 1)  // never more than the compaction threshold (1,000 live + cancelled ones)
        #expect(result[1] == 1_000)
        #expect(result[2] == 1)
        #expect(result[3] == 0)
    }

    @Test func timersFireOnTheLoopThatScheduledThem() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (first, second) = (group.next(), group.next())
        let promises = [first.makePromise(of: [Bool].self), second.makePromise(of: [Bool].self)]
        for (loop, promise) in zip([first, second], promises) {
            let other = loop === first ? second : first
            loop.execute {
                _ = LoopTimers.on(loop).schedule(in: .milliseconds(5)) {
                    promise.succeed([loop.inEventLoop, !other.inEventLoop])
                }
            }
        }
        let outcomes = try await [promises[0].futureResult.get(), promises[1].futureResult.get()]
        try await group.shutdownGracefully()
        #expect(outcomes == [[true, true], [true, true]])
    }

    @Test func cancellingATimerLeavesTheOtherLoopsTimersAlone() async throws {
        // the same deadline on two loops; the first loop's timer is cancelled, the second loop's still fires
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (first, second) = (group.next(), group.next())
        let deadline = NIODeadline.now() + .milliseconds(20)
        let firstDone = first.makePromise(of: [String].self)
        let secondDone = second.makePromise(of: Bool.self)
        first.execute {
            var fired: [String] = []
            let timers = LoopTimers.on(first)
            timers.schedule(at: deadline) { fired.append("cancelled") }.cancel()
            _ = timers.schedule(at: deadline) { fired.append("live") }
            _ = timers.schedule(at: deadline + .milliseconds(10)) { firstDone.succeed(fired) }
        }
        second.execute {
            _ = LoopTimers.on(second).schedule(at: deadline) { secondDone.succeed(second.inEventLoop) }
        }
        let firstFired = try await firstDone.futureResult.get()
        let secondFired = try await secondDone.futureResult.get()
        try await group.shutdownGracefully()
        #expect(firstFired == ["live"])
        #expect(secondFired)
    }

    @Test func eachEventLoopHasItsOwnTimers() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (first, second) = (group.next(), group.next())
        let a = try await first.submit { ObjectIdentifier(LoopTimers.on(first)) }.get()
        let again = try await first.submit { ObjectIdentifier(LoopTimers.on(first)) }.get()
        let b = try await second.submit { ObjectIdentifier(LoopTimers.on(second)) }.get()
        try await group.shutdownGracefully()
        #expect(a == again)
        #expect(a != b)
    }
}
