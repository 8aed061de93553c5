package import NIOCore

/// A task executor that runs jobs on one event loop.
///
/// Async route handlers start with `Task.immediate` on their connection's loop; with this executor as the task's
/// preference, a handler that suspends (awaits a future, a long poll) resumes on that loop too, instead of on the
/// global concurrent pool and then hopping back to the loop to write its response: two thread switches and a
/// wake-up saved per suspension. Actor-isolated code still runs on its actor; child tasks inherit the preference,
/// so CPU-heavy work belongs in `Task.detached` or an actor of its own.
package final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop that runs the jobs.
    package let eventLoop: any EventLoop

    private init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    private static let executors = PerLoop<EventLoopTaskExecutor> { EventLoopTaskExecutor(eventLoop: $0) }

    /// The executor of `eventLoop` when called on that loop, otherwise nil (no preference: the global executor).
    package static func preferred(for eventLoop: any EventLoop) -> EventLoopTaskExecutor? {
        eventLoop.inEventLoop ? executors.value(for: eventLoop) : nil
    }

    /// The executor of `eventLoop`, made once per loop; call it on that loop.
    package static func current(on eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        eventLoop.assertInEventLoop()
        return executors.value(for: eventLoop)
    }
}
