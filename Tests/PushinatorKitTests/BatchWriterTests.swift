import PushinatorKit
import Synchronization
import Testing

@Suite("BatchWriter")
struct BatchWriterTests {
    /// A `write` that records its batches, tells the test when one starts, and holds the first one until released.
    final class HeldWrite: Sendable {
        let batches = Mutex<[[Int]]>([])
        let started: AsyncStream<[Int]>
        private let startedContinuation: AsyncStream<[Int]>.Continuation
        private let gate: AsyncStream<Void>
        private let gateContinuation: AsyncStream<Void>.Continuation
        /// Items whose batch fails.
        let failing: Set<Int>

        init(failing: Set<Int> = []) {
            (started, startedContinuation) = AsyncStream.makeStream()
            (gate, gateContinuation) = AsyncStream.makeStream()
            self.failing = failing
        }

        func release() { gateContinuation.finish() }

        func write(_ batch: [Int]) async -> Result<[Int], UserStoreError> {
            let first = batches.withLock { batches in
                batches.append(batch)
                return batches.count == 1
            }
            startedContinuation.yield(batch)
            if first { for await _ in gate {} }
            if let bad = batch.first(where: failing.contains) { return .failure(UserStoreError("item \(bad) failed")) }
            return .success(batch.map { $0 * 10 })
        }
    }

    /// Outcomes as they were finished, in order.
    final class Outcomes: Sendable {
        let finished = Mutex<[(Int, Result<Int, UserStoreError>)]>([])
        func finish(_ item: Int) -> BatchWriter<Int, Int>.Finish {
            { result in self.finished.withLock { $0.append((item, result)) } }
        }
        var items: [Int] { finished.withLock { $0.map(\.0) } }
        func value(of item: Int) -> Int? { finished.withLock { $0.first { $0.0 == item }.flatMap { try? $0.1.get() } } }
        func error(of item: Int) -> String? {
            finished.withLock { list in
                guard case .failure(let error)? = list.first(where: { $0.0 == item })?.1 else { return nil }
                return error.message
            }
        }
    }

    /// A writer over a ``HeldWrite`` whose first batch, `[first]`, is running and held when this returns.
    func writerHoldingItsFirstBatch(
        maxPending: Int,
        maxBatch: Int,
        failing: Set<Int> = [],
        first: Int = 1
    ) async -> (BatchWriter<Int, Int>, HeldWrite, Outcomes) {
        let writer = BatchWriter<Int, Int>(maxPending: maxPending, maxBatch: maxBatch)
        let held = HeldWrite(failing: failing)
        writer.start { await held.write($0) }
        let outcomes = Outcomes()
        var started = held.started.makeAsyncIterator()
        writer.submit(first, finish: outcomes.finish(first))
        #expect(await started.next() == [first])  // running, and held
        return (writer, held, outcomes)
    }

    @Test func whatArrivesDuringABatchIsTheNextBatchInOrderWithinTheBounds() async throws {
        let (writer, held, outcomes) = await writerHoldingItsFirstBatch(maxPending: 4, maxBatch: 3)
        for item in 2...5 { writer.submit(item, finish: outcomes.finish(item)) }  // 4 pending: the bound
        writer.submit(6, finish: outcomes.finish(6))  // one too many: refused at once
        held.release()
        await writer.flush()
        #expect(held.batches.withLock { $0 } == [[1], [2, 3, 4], [5]])  // at most maxBatch a batch
        #expect(outcomes.items.filter { $0 != 6 } == [1, 2, 3, 4, 5])  // finished in submission order
        #expect((1...5).map(outcomes.value(of:)) == [10, 20, 30, 40, 50])
        #expect(outcomes.error(of: 6) == "the user store has too many writes pending; try again")
        #expect(try await writer.run(7) == 70)  // and it takes writes again
    }

    @Test func aFailedBatchFailsEachOfItsItemsAndTheNextBatchRuns() async throws {
        let (writer, held, outcomes) = await writerHoldingItsFirstBatch(maxPending: 100, maxBatch: 100, failing: [3])
        for item in 2...4 { writer.submit(item, finish: outcomes.finish(item)) }
        held.release()
        await writer.flush()
        #expect(outcomes.value(of: 1) == 10)
        #expect((2...4).map(outcomes.error(of:)) == Array(repeating: "item 3 failed", count: 3))
        await #expect(throws: UserStoreError.self) { try await writer.run(3) }
        #expect(try await writer.run(5) == 50)
    }

    @Test func flushWaitsForEverythingSubmittedBefore() async throws {
        let (writer, held, outcomes) = await writerHoldingItsFirstBatch(maxPending: 1_000, maxBatch: 7, first: 0)
        for item in 1..<100 { writer.submit(item, finish: outcomes.finish(item)) }
        let flushed = Task {
            await writer.flush()
            return outcomes.items.count
        }
        held.release()
        #expect(await flushed.value == 100)  // on shutdown nothing submitted is lost
        #expect(outcomes.items == Array(0..<100))
        await writer.flush()  // idle: returns at once
    }

    @Test func aWriterNotStartedFailsItsItems() async {
        let writer = BatchWriter<Int, Int>(maxPending: 10, maxBatch: 10)
        await #expect(throws: UserStoreError.self) { try await writer.run(1) }
    }
}
