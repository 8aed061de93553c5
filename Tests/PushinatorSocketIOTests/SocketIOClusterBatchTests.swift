import Logging
import PushinatorCluster
import PushinatorJSON
@testable import PushinatorSocketIO
import Synchronization
import Testing

/// A transport whose first publish waits for the test, recording each publish call's messages.
final class GatedTransport: ClusterTransport {
    let localUID = "gated"
    let events: AsyncStream<ClusterTransportEvent>
    private let sink: AsyncStream<ClusterTransportEvent>.Continuation
    let calls = Mutex<[[ClusterMessage]]>([])
    let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
    let gateOpen = Mutex(false)

    init() { (events, sink) = AsyncStream.makeStream() }

    func publish(_ message: ClusterMessage) async throws { try await publish([message]) }

    func publish(_ messages: [ClusterMessage]) async throws {
        let first = calls.withLock { calls in
            calls.append(messages)
            return calls.count == 1
        }
        if first, !gateOpen.withLock({ $0 }) {
            await withCheckedContinuation { continuation in gate.withLock { $0 = continuation } }
        }
    }

    func subscribe(namespace: String) async throws {}

    func open() {
        gateOpen.withLock { $0 = true }
        gate.withLock { $0?.resume(); $0 = nil }
    }

    func finish() { sink.finish() }
}

/// A transport whose publishes never complete unless cancelled (a database that went away: the query waits for a
/// connection).
final class StuckTransport: ClusterTransport {
    let localUID = "stuck"
    let events: AsyncStream<ClusterTransportEvent>
    private let sink: AsyncStream<ClusterTransportEvent>.Continuation
    let cancelled = Mutex(0)

    init() { (events, sink) = AsyncStream.makeStream() }

    func publish(_ message: ClusterMessage) async throws { try await publish([message]) }

    func publish(_ messages: [ClusterMessage]) async throws {
        do {
            try await Task.sleep(for: .seconds(3_600))
        } catch {
            cancelled.withLock { $0 += 1 }
            throw error
        }
    }

    func subscribe(namespace: String) async throws {}

    func finish() { sink.finish() }
}

/// A transport that takes several publishes in flight: each is queued (and `started` called) at once, and is over
/// when the test releases it; the first `failures` publish attempts fail after being queued.
final class PipelinedTransport: ClusterTransport {
    let localUID = "pipelined"
    let events: AsyncStream<ClusterTransportEvent>
    private let sink: AsyncStream<ClusterTransportEvent>.Continuation
    /// Every attempt, in the order it was queued.
    let attempts = Mutex<[[ClusterMessage]]>([])
    let held = Mutex<[CheckedContinuation<Bool, Never>]>([])
    let failures = Mutex(0)
    var maxPublishesInFlight: Int { 8 }

    init() { (events, sink) = AsyncStream.makeStream() }

    func publish(_ message: ClusterMessage) async throws { try await publish([message], started: {}) }
    func publish(_ messages: [ClusterMessage]) async throws { try await publish(messages, started: {}) }

    func publish(_ messages: [ClusterMessage], started: @escaping @Sendable () -> Void) async throws {
        let fails = await withCheckedContinuation { continuation in
            attempts.withLock { $0.append(messages) }
            held.withLock { $0.append(continuation) }
            started()
        }
        if fails { throw SocketIOClusterError.stopped }
    }

    /// Ends the oldest publish in flight (it fails while `failures` is above 0).
    func releaseOldest() -> Bool {
        guard let first = held.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { return false }
        let fails = failures.withLock { failures -> Bool in
            defer { failures = max(0, failures - 1) }
            return failures > 0
        }
        first.resume(returning: fails)
        return true
    }

    var inFlight: Int { held.withLock { $0.count } }

    func subscribe(namespace: String) async throws {}

    func finish() { sink.finish() }
}

@Suite("SocketIOCluster publishes in batches")
struct SocketIOClusterBatchTests {
    static func message(_ number: Int) -> ClusterMessage {
        ClusterMessage(uid: "gated", nsp: "/", body: .broadcast(packet: ["type": 2, "data": ["n", .integer(number)], "nsp": "/"], options: .init()))
    }

    @Test func messagesWaitingBehindAPublishGoOutTogetherInOrderWithinTheBatchSize() async throws {
        let transport = GatedTransport()
        let cluster = SocketIOCluster(transport: transport, configuration: .init(maxPublishBatch: 10), logger: Logger(label: "test.batch"))
        let running = Task { try? await cluster.run() }
        let done = Mutex(0)
        cluster.publish(Self.message(0)) { _ in done.withLock { $0 += 1 } }
        for _ in 0..<2000 where transport.calls.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(5)) }
        for number in 1...25 { cluster.publish(Self.message(number)) { _ in done.withLock { $0 += 1 } } }
        #expect(cluster.status.pendingPublishes == 26)
        transport.open()
        for _ in 0..<2000 where done.withLock({ $0 }) < 26 { try await Task.sleep(for: .milliseconds(5)) }
        let calls = transport.calls.withLock { $0 }
        #expect(calls.map(\.count) == [1, 10, 10, 5])
        #expect(calls.flatMap { $0 } == (0...25).map(Self.message))
        #expect(cluster.status.pendingPublishes == 0)
        #expect(cluster.status.droppedPublishes == 0)
        transport.finish()
        running.cancel()
        await running.value
    }

    @Test(.timeLimit(.minutes(1)))
    func batchesAreHandedOverWhileTheOnesBeforeAreInFlightAndAFailedOneIsRetriedInOrder() async throws {
        let transport = PipelinedTransport()
        let configuration = SocketIOCluster.Configuration(
            publishRetryDelay: .milliseconds(1),
            maxPublishBatch: 2,
            maxPublishesInFlight: 3,
            minPipelinedBatch: 1
        )
        let cluster = SocketIOCluster(transport: transport, configuration: configuration, logger: Logger(label: "test.pipelined"))
        let running = Task { try? await cluster.run() }
        let done = Mutex<[Int]>([])
        cluster.publish(Self.message(0)) { _ in done.withLock { $0.append(0) } }
        for _ in 0..<2000 where transport.inFlight < 1 { try await Task.sleep(for: .milliseconds(5)) }
        // The publish loop runs beside this test: it may take a batch as soon as the first of these is queued, so
        // how the messages split into batches (of one or two) depends on the timing; what is checked below does not.
        for number in 1...9 { cluster.publish(Self.message(number)) { _ in done.withLock { $0.append(number) } } }
        // three batches in flight at once (the first, then two more), none answered yet, and no fourth
        for _ in 0..<2000 where transport.inFlight < 3 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(transport.inFlight == 3)
        let firstRound = transport.attempts.withLock { $0 }
        #expect(firstRound.count == 3)
        #expect(firstRound.first == [Self.message(0)])
        #expect(firstRound.allSatisfy { (1...2).contains($0.count) })
        let handedOver = firstRound.flatMap { $0 }.count
        #expect(firstRound.flatMap { $0 } == (0..<handedOver).map(Self.message))
        // the oldest fails: it is retried at once (no batch before it), but nothing new starts before every batch
        // in flight is over
        transport.failures.withLock { $0 = 1 }
        #expect(transport.releaseOldest())
        for _ in 0..<2000 where transport.attempts.withLock({ $0.count }) < 4 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(transport.attempts.withLock { $0.count } == 4)
        #expect(transport.attempts.withLock { $0[3] } == [Self.message(0)])
        #expect(transport.releaseOldest())  // the second batch
        #expect(transport.releaseOldest())  // the third
        try await Task.sleep(for: .milliseconds(50))
        #expect(transport.attempts.withLock { $0.count } == 4)
        #expect(transport.releaseOldest())  // the retry: now the rest, up to three in flight again
        let rest = 10 - handedOver
        for _ in 0..<2000 where transport.inFlight < min(3, (rest + 1) / 2) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(transport.inFlight <= 3)
        while done.withLock({ $0.count }) < 10 {
            #expect(transport.inFlight <= 3)
            if !transport.releaseOldest() { try await Task.sleep(for: .milliseconds(5)) }
        }
        let attempts = transport.attempts.withLock { $0 }
        let later = attempts.dropFirst(4)
        #expect(later.allSatisfy { (1...2).contains($0.count) })
        #expect(later.flatMap { $0 } == (handedOver...9).map(Self.message))  // in order, each once
        // each batch's callbacks run in their own task: batches released together may complete in either order
        let completed = done.withLock { $0 }
        let second = Array(1..<handedOver)
        #expect(completed.prefix(second.count).sorted() == second)
        #expect(completed[second.count] == 0)
        #expect(completed.dropFirst(handedOver).sorted() == Array(handedOver...9))
        #expect(cluster.status.droppedPublishes == 0)
        transport.finish()
        running.cancel()
        await running.value
    }

    @Test(.timeLimit(.minutes(1)))
    func fewerMessagesThanThePipelinedMinimumWaitForTheBatchInFlight() async throws {
        let transport = PipelinedTransport()
        let cluster = SocketIOCluster(
            transport: transport,
            configuration: .init(minPipelinedBatch: 4),
            logger: Logger(label: "test.pipelined")
        )
        let running = Task { try? await cluster.run() }
        let done = Mutex(0)
        cluster.publish(Self.message(0)) { _ in done.withLock { $0 += 1 } }
        for _ in 0..<2000 where transport.inFlight < 1 { try await Task.sleep(for: .milliseconds(5)) }
        for number in 1...3 { cluster.publish(Self.message(number)) { _ in done.withLock { $0 += 1 } } }
        try await Task.sleep(for: .milliseconds(50))
        #expect(transport.inFlight == 1)  // three wait: below the minimum
        cluster.publish(Self.message(4)) { _ in done.withLock { $0 += 1 } }
        for _ in 0..<2000 where transport.inFlight < 2 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(transport.attempts.withLock { $0.map(\.count) } == [1, 4])  // four: they go out behind it
        while done.withLock({ $0 }) < 5 {
            if !transport.releaseOldest() { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(transport.attempts.withLock { $0.flatMap { $0 } } == (0...4).map(Self.message))
        transport.finish()
        running.cancel()
        await running.value
    }

    /// A server alone on the gated bus, its first publish (the initial heartbeat) held.
    static func aloneWithHeldPublish(_ configuration: SocketIOCluster.Configuration) async throws
        -> (GatedTransport, SocketIOCluster, SocketIOServer, Task<Void, Never>)
    {
        let transport = GatedTransport()
        let cluster = SocketIOCluster(transport: transport, configuration: configuration, logger: Logger(label: "test.alone"))
        let io = SocketIOServer(adapter: cluster.adapter, logger: Logger(label: "test.alone"))
        _ = io.of("/")
        let running = Task { _ = try? await cluster.run() }
        for _ in 0..<2000 where transport.calls.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(transport.calls.withLock { $0.count } == 1)
        return (transport, cluster, io, running)
    }

    @Test func aServerAloneAnswersACountingBroadcastBeforeItsPublishAndPublishesItInOrder() async throws {
        let (transport, cluster, io, running) = try await Self.aloneWithHeldPublish(.init())
        // answered while the bus still holds the heartbeat queued before it: nobody else to count, nothing to wait for
        let count = await io.of("/").to("room").emitCounting("message", ["hi"])
        #expect(count == BroadcastCount(delivered: 0, reachedRooms: []))
        #expect(!count.notPublished)
        #expect(cluster.status.pendingPublishes == 2)
        transport.open()
        for _ in 0..<2000 where transport.calls.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(5)) }
        let types = transport.calls.withLock { $0.flatMap { $0.map(\.type) } }
        #expect(types == [.initialHeartbeat, .serverSideEmit])  // still published, after what was queued before it
        transport.finish()
        running.cancel()
        await running.value
    }

    @Test(.timeLimit(.minutes(1)))
    func aBusThatTakesNothingHoldsTheShutdownAtMostTheRequestTimeout() async throws {
        let transport = StuckTransport()
        let membership = ClusterMembership.Configuration(requestTimeout: .milliseconds(200))
        let cluster = SocketIOCluster(transport: transport, configuration: .init(membership: membership), logger: Logger(label: "test.stuck"))
        let io = SocketIOServer(adapter: cluster.adapter, logger: Logger(label: "test.stuck"))
        _ = io.of("/")  // its initial heartbeat is stuck in the transport; ADAPTER_CLOSE queues behind it
        let running = Task { _ = try? await cluster.run() }
        for _ in 0..<2000 where cluster.status.pendingPublishes == 0 { try await Task.sleep(for: .milliseconds(5)) }
        running.cancel()  // stops as a graceful shutdown does
        await running.value
        #expect(transport.cancelled.withLock { $0 } >= 1)
        #expect(cluster.status.pendingPublishes == 0)
        #expect(cluster.status.droppedPublishes >= 2)  // the heartbeat and ADAPTER_CLOSE
        transport.finish()
    }

    @Test func aServerAloneWhosePublishIsRefusedSaysSoOnlyWhenItWaitsForThePublish() async throws {
        // one message may wait, and the held initial heartbeat is it: the counting broadcast's publish is refused
        for wait in [true, false] {
            let (transport, cluster, io, running) = try await Self.aloneWithHeldPublish(
                .init(maxPendingPublishes: 1, waitForPublishWhenAlone: wait)
            )
            let count = await io.of("/").to("room").emitCounting("message", ["hi"])
            #expect(count.notPublished == wait)  // not waiting, the answer went before the publish's outcome was known
            #expect(cluster.status.droppedPublishes == 1)
            transport.open()
            transport.finish()
            running.cancel()
            await running.value
            let types = transport.calls.withLock { $0.flatMap { $0.map(\.type) } }
            #expect(!types.contains(.serverSideEmit))
        }
    }

    @Test func withWaitForPublishWhenAloneTheAnswerComesAfterThePublish() async throws {
        let (transport, cluster, io, running) = try await Self.aloneWithHeldPublish(.init(waitForPublishWhenAlone: true))
        let opened = Mutex(false)
        let answer = Task { () -> Bool in
            _ = await io.of("/").to("room").emitCounting("message", ["hi"])
            return opened.withLock { $0 }
        }
        for _ in 0..<2000 where cluster.status.pendingPublishes < 2 { try await Task.sleep(for: .milliseconds(5)) }
        opened.withLock { $0 = true }
        transport.open()
        #expect(await answer.value)
        transport.finish()
        running.cancel()
        await running.value
    }
}
