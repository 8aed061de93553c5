import PushinatorEventLoop

/// A handler registered on a ``Namespace`` (an event, connection or disconnect handler): an optional synchronous
/// fast path, and the handler that runs in a task.
///
/// The fast path runs on the connection's event loop without a task and returns `true` when it has handled the
/// input; when it returns `false` (it must not have acted then) `run` handles it in a task instead, on the same
/// loop. A handler registered without a fast path always runs in a task (`Task.immediate`, so it too runs on the
/// loop until it first suspends).
struct NamespaceHandler<Input: Sendable>: Sendable {
    let synchronously: (@Sendable (Input) throws -> Bool)?
    let run: @Sendable (Input) async throws -> Void

    /// Runs the fast path; `true` when it handled `input` (a thrown error is handled too: `report` gets it).
    func runSynchronously(_ input: Input, report: (any Error) -> Void) -> Bool {
        guard let synchronously else { return false }
        do {
            return try synchronously(input)
        } catch {
            report(error)
            return true
        }
    }

    /// Runs the fast path, else the handler (what runs in a task).
    func runInTask(_ input: Input, report: (any Error) -> Void) async {
        guard !runSynchronously(input, report: report) else { return }
        do { try await run(input) } catch { report(error) }
    }

    /// Runs `handlers` in order on the calling event loop: those whose fast path handles `input` without a task;
    /// from the first that needs one on, the rest in one task preferring `executor` (so the order is kept).
    static func runAll(
        _ handlers: [NamespaceHandler],
        _ input: Input,
        executor: EventLoopTaskExecutor?,
        report: @escaping @Sendable (any Error) -> Void
    ) {
        for index in handlers.indices where !handlers[index].runSynchronously(input, report: report) {
            let (first, rest) = (handlers[index], handlers[(index + 1)...])
            Task.immediate(executorPreference: executor) {
                do { try await first.run(input) } catch { report(error) }
                for handler in rest { await handler.runInTask(input, report: report) }
            }
            return
        }
    }
}
