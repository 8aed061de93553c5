import Synchronization

/// Groups a store's writes into batches and runs them one batch at a time, in submission order: the drain loop
/// the SQLite and PostgreSQL user stores share.
///
/// Callers ``submit(_:finish:)`` an item; one drain task at a time takes up to `maxBatch` pending items, hands them
/// to the `write` function given to ``start(_:)`` (one transaction for the whole batch, say) and calls each item's
/// `finish` with its outcome, in submission order, before it takes the next batch. Whatever is submitted while a
/// batch runs waits for the next one, so a burst of 1,000 writes is a few transactions instead of 1,000. At most
/// `maxPending` items wait; past that a submission fails at once with an error (the admin call gets a 503).
/// ``flush()`` returns once everything submitted before it is finished (used on shutdown).
///
/// ```swift
/// let batches = BatchWriter<[StoreOperation], Void>(maxPending: 100_000, maxBatch: 4_096)
/// batches.start { [weak self] items in await self?.write(items) ?? .failure(UserStoreError("closed")) }
/// batches.submit([.deleteUsers(["a"])]) { result in ... }
/// ```
public final class BatchWriter<Item: Sendable, Outcome: Sendable>: Sendable {
    /// Runs one batch: an outcome per item, in order, or the error every item of the batch fails with.
    public typealias Write = @Sendable (_ batch: [Item]) async -> Result<[Outcome], UserStoreError>
    /// Called once per item with its outcome.
    public typealias Finish = @Sendable (Result<Outcome, UserStoreError>) -> Void

    private struct Pending: Sendable {
        let item: Item
        let finish: Finish
    }

    private struct State {
        var write: Write?
        var pending: [Pending] = []
        var draining = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The most items waiting; more are refused.
    public let maxPending: Int
    /// The most items in one batch.
    public let maxBatch: Int
    private let state = Mutex(State())

    /// Creates a writer that refuses items past `maxPending` waiting and batches at most `maxBatch` at a time
    /// (both at least 1); call ``start(_:)`` before the first ``submit(_:finish:)``.
    public init(maxPending: Int, maxBatch: Int) {
        self.maxPending = max(1, maxPending)
        self.maxBatch = max(1, maxBatch)
    }

    /// Sets the function that runs a batch (once, from the owner's `init`, which can then capture itself weakly).
    public func start(_ write: @escaping Write) {
        state.withLock { $0.write = write }
    }

    /// Queues `item` for the next batch; `finish` runs (in submission order) once its batch ran. When
    /// `maxPending` items wait already, `finish` gets an error at once, on another task (the caller may hold a
    /// lock `finish` takes).
    public func submit(_ item: Item, finish: @escaping Finish) {
        let start = state.withLock { state -> Bool? in
            guard state.pending.count < maxPending else { return nil }
            state.pending.append(Pending(item: item, finish: finish))
            defer { state.draining = true }
            return !state.draining
        }
        switch start {
        case nil: Task { finish(.failure(UserStoreError("the user store has too many writes pending; try again"))) }
        case true?: Task { await self.drain() }
        case false?: break
        }
    }

    /// Runs `item` and returns its outcome.
    public func run(_ item: Item) async throws(UserStoreError) -> Outcome {
        let result = await withCheckedContinuation { continuation in
            submit(item) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Returns once every item submitted before is finished.
    public func flush() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                if !state.draining && state.pending.isEmpty { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func drain() async {
        while true {
            let (batch, write) = state.withLock { state -> ([Pending], Write?) in
                let count = min(state.pending.count, maxBatch)
                defer { state.pending.removeFirst(count) }
                return (Array(state.pending.prefix(count)), state.write)
            }
            if batch.isEmpty {
                let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
                    guard state.pending.isEmpty else { return nil }  // arrived meanwhile: go on
                    state.draining = false
                    defer { state.idleWaiters = [] }
                    return state.idleWaiters
                }
                guard let waiters else { continue }
                waiters.forEach { $0.resume() }
                return
            }
            let result = await write?(batch.map(\.item)) ?? .failure(UserStoreError("the user store's writer is not started"))
            for (index, pending) in batch.enumerated() {
                switch result {
                case .success(let outcomes) where index < outcomes.count: pending.finish(.success(outcomes[index]))
                case .success: pending.finish(.failure(UserStoreError("the user store's writer lost an outcome")))
                case .failure(let error): pending.finish(.failure(error))
                }
            }
        }
    }
}
