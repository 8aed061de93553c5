import Synchronization

/// A one-shot result a store's writer sets once a write is committed (or failed), and callers await.
///
/// Set exactly once with ``succeed()`` or ``fail(_:)``; any number of ``wait()`` calls before or after.
public final class WriteCompletion: Sendable {
    private enum State {
        case pending([CheckedContinuation<Result<Void, UserStoreError>, Never>])
        case done(Result<Void, UserStoreError>)
    }

    private let state = Mutex(State.pending([]))

    /// Creates a pending completion.
    public init() {}

    /// Marks the write committed.
    public func succeed() { finish(.success(())) }

    /// Marks the write failed.
    public func fail(_ error: UserStoreError) { finish(.failure(error)) }

    /// Waits until the write is committed; throws its error if it failed.
    public func wait() async throws(UserStoreError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, UserStoreError>, Never>) in
            let ready: Result<Void, UserStoreError>? = state.withLock { state in
                switch state {
                case .done(let result):
                    return result
                case .pending(var waiters):
                    waiters.append(continuation)
                    state = .pending(waiters)
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
        try result.get()
    }

    private func finish(_ result: Result<Void, UserStoreError>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Result<Void, UserStoreError>, Never>] in
            guard case .pending(let waiters) = state else { return [] }
            state = .done(result)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }
}
