public import NIOCore

/// A task executor that runs jobs on one event loop.
///
/// NIO's event loops are serial executors for actors but not task executors. Async route handlers start with
/// `Task.immediate` on their connection's loop; with this executor as the task's preference, a handler that
/// suspends (awaits a future, a long poll) resumes on that loop too, instead of on the global concurrent pool and
/// then hopping back to the loop to write its response: two thread switches and a wake-up saved per suspension.
///
/// ```swift
/// Task.immediate(executorPreference: EventLoopTaskExecutor.current(on: context.eventLoop)) {
///     let response = await responder.respond(to: request)  // resumes on the loop
///     write(response)
/// }
/// ```
///
/// Actor-isolated code still runs on its actor; child tasks inherit the preference, so CPU-heavy work belongs in
/// `Task.detached` or an actor of its own.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop that runs the jobs.
    public let eventLoop: any EventLoop

    private init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    /// Runs `job` on ``eventLoop`` (called by the Swift runtime).
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    @usableFromInline static let executors = PerLoop<EventLoopTaskExecutor> { EventLoopTaskExecutor(eventLoop: $0) }

    /// The executor of `eventLoop` when called on that loop, otherwise nil (no preference: the global executor).
    /// - Parameter eventLoop: The loop whose executor a new task should prefer.
    @inlinable
    public static func preferred(for eventLoop: any EventLoop) -> EventLoopTaskExecutor? {
        eventLoop.inEventLoop ? executors.value(for: eventLoop) : nil
    }

    /// The executor of `eventLoop`, made once per loop; call it on that loop.
    /// - Parameter eventLoop: The loop the calling code runs on.
    @inlinable
    public static func current(on eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        eventLoop.assertInEventLoop()
        return executors.value(for: eventLoop)
    }
}
