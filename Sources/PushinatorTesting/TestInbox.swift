import NIOCore
import NIOPosix
import Synchronization

/// A bounded queue that a test awaits with a deadline: producers ``push(_:)`` from any thread, one consumer at a
/// time waits in ``next(timeout:_:)``.
///
/// Once finished, the queued elements are still handed out; then every wait throws the finishing error.
final class TestInbox<Element: Sendable>: Sendable {
    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Element, any Error>
        let timer: Scheduled<Void>?
    }

    private struct State {
        var items: [Element] = []
        var head = 0
        var waiters: [Waiter] = []
        var finished: (any Error)?
        var nextWaiterID = 0

        var isEmpty: Bool { head == items.count }

        mutating func popFirst() -> Element? {
            guard head < items.count else { return nil }
            let element = items[head]
            head += 1
            if head > 64, head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return element
        }
    }

    /// The most elements held before the inbox finishes with ``SocketIOTestError/overflow(_:)``.
    let limit: Int
    private let state = Mutex(State())

    /// Creates an inbox.
    /// - Parameter limit: the most unread elements it holds.
    init(limit: Int = 10_000) {
        self.limit = limit
    }

    /// The number of unread elements.
    var count: Int { state.withLock { $0.items.count - $0.head } }

    /// Hands `element` to the waiting consumer, or queues it; ignored once finished.
    func push(_ element: Element) {
        let resumed: Waiter? = state.withLock { state in
            guard state.finished == nil else { return nil }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            guard state.items.count - state.head < limit else {
                state.finished = SocketIOTestError.overflow(limit)
                return nil
            }
            state.items.append(element)
            return nil
        }
        guard let resumed else { return }
        resumed.timer?.cancel()
        resumed.continuation.resume(returning: element)
    }

    /// Ends the inbox: the waiting consumer, and every later wait once the queue is drained, gets `error`.
    /// The first call decides the error.
    func finish(throwing error: any Error) {
        let waiters: [Waiter] = state.withLock { state in
            guard state.finished == nil else { return [] }
            state.finished = error
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: error)
        }
    }

    /// Whether the inbox has been finished (elements may still be queued).
    var isFinished: Bool { state.withLock { $0.finished != nil } }

    /// The next element, waiting at most `timeout`.
    /// - Parameters:
    ///   - timeout: how long to wait.
    ///   - what: what is awaited, for the timeout error's message.
    /// - Throws: ``SocketIOTestError/timeout(_:)`` past the deadline, the finishing error once finished and
    ///   drained, `CancellationError` when the task is cancelled.
    func next(timeout: Duration, _ what: @autoclosure () -> String) async throws -> Element {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let description = what()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Element, any Error>) in
                let outcome: InboxOutcome<Element> = state.withLock { state in
                    if let element = state.popFirst() { return .element(element) }
                    if let finished = state.finished { return .failure(finished) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    let components = timeout.components
                    let nanoseconds = components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
                    let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(
                        in: .nanoseconds(max(0, nanoseconds))
                    ) { [self] in
                        fail(waiter: id, with: SocketIOTestError.timeout("timed out after \(timeout) waiting for \(description)"))
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation, timer: timer))
                    return .waiting
                }
                switch outcome {
                case .element(let element): continuation.resume(returning: element)
                case .failure(let error): continuation.resume(throwing: error)
                case .waiting: break
                }
            }
        } onCancel: {
            fail(waiter: id, with: CancellationError())
        }
    }

    private func fail(waiter id: Int, with error: any Error) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(throwing: error)
    }
}

/// What a wait finds when it starts.
private enum InboxOutcome<Element> {
    case element(Element)
    case failure(any Error)
    case waiting
}
