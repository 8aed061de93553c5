public import Logging
public import PushinatorCluster
public import NIOCore
import NIOPosix
import PushinatorEventLoop
public import ServiceLifecycle
import Synchronization

/// One server's place in a cluster: the ``ClusterTransport`` it shares with the other servers, and a
/// ``ClusterAdapter`` for each of its namespaces. Run it as a `Service`, after the transport in the service group
/// (so that on shutdown it tells the others it leaves before the transport stops).
///
/// ```swift
/// let transport = try PostgresClusterTransport(configuration: .init(url: PostgresURL(url)), logger: logger)
/// let cluster = SocketIOCluster(transport: transport, logger: logger)
/// let io = SocketIOServer(configuration: configuration, adapter: cluster.adapter, logger: logger)
/// try await ServiceGroup(services: [transport, cluster, http, io], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
///
/// Messages go out in the order they were published; those waiting are published together, up to
/// ``Configuration/maxPublishBatch`` at a time (one statement on PostgreSQL). A publish that fails (the bus is unreachable,
/// or not started yet) is retried with backoff until ``Configuration/publishRetryDeadline``, holding back the ones
/// behind it, so that nothing is reordered; what is still refused then is dropped, counted in ``Status`` and logged.
public final class SocketIOCluster: Service, Sendable {
    /// The settings of a ``SocketIOCluster``.
    public struct Configuration: Sendable, Hashable {
        /// Heartbeats, node timeout and the deadline of requests that wait for every server (socket.io's
        /// defaults: 5 s, 10 s, 5 s).
        public var membership: ClusterMembership.Configuration
        /// The most messages waiting to be published; past it new ones are dropped (and counted). Default 10,000.
        public var maxPendingPublishes: Int
        /// How long a message that cannot be published is retried before it is dropped. Default 30 s.
        public var publishRetryDeadline: Duration
        /// The first delay between two attempts; it doubles up to 2 s. Default 100 ms.
        public var publishRetryDelay: Duration
        /// How often heartbeats, node timeouts and request deadlines are checked. Default 100 ms.
        public var tickInterval: Duration
        /// The most waiting messages handed to the transport in one publish. Default 1,024: one batch is in flight at a
        /// time, so the bus carries at most this many messages per database round trip (256 capped a node at about
        /// 5,500 messages/s with round trips of 20-50 ms under load).
        public var maxPublishBatch: Int
        /// Whether a counting broadcast (``ClusterAdapter/broadcastCounting(_:to:flags:)``) waits for its publish
        /// when no other server is alive. Default `false`: alone on a bus that accepts messages, the count is
        /// this server's, known at once, and the message is queued in order for the bus (and its log), retried up
        /// to ``publishRetryDeadline``, dropped and counted only after that; with other servers, or while the bus
        /// refuses messages, the broadcast always waits for its publish (``BroadcastCount/notPublished``).
        public var waitForPublishWhenAlone: Bool
        /// The most publish batches in flight at once (at most the transport's
        /// ``ClusterTransport/maxPublishesInFlight``). Default 4: under load, the next batch is handed to the
        /// transport as soon as the one before is queued on its connection, not once it is answered.
        public var maxPublishesInFlight: Int
        /// How many messages must be waiting for a batch to start while another is in flight. Default 128: below
        /// it, what comes in waits for the batch in flight and goes out with the rest (bigger batches: fewer
        /// statements and commits, which costs less than a round trip of waiting on a two-core machine at 1,000
        /// sends/s); at or above it (the bus saturated), batches go out back to back.
        public var minPipelinedBatch: Int

        /// Creates settings.
        public init(
            membership: ClusterMembership.Configuration = .init(),
            maxPendingPublishes: Int = 10_000,
            publishRetryDeadline: Duration = .seconds(30),
            publishRetryDelay: Duration = .milliseconds(100),
            tickInterval: Duration = .milliseconds(100),
            maxPublishBatch: Int = 1_024,
            waitForPublishWhenAlone: Bool = false,
            maxPublishesInFlight: Int = 4,
            minPipelinedBatch: Int = 128
        ) {
            self.membership = membership
            self.maxPendingPublishes = max(1, maxPendingPublishes)
            self.publishRetryDeadline = publishRetryDeadline
            self.publishRetryDelay = publishRetryDelay
            self.tickInterval = tickInterval
            self.maxPublishBatch = max(1, maxPublishBatch)
            self.waitForPublishWhenAlone = waitForPublishWhenAlone
            self.maxPublishesInFlight = max(1, maxPublishesInFlight)
            self.minPipelinedBatch = max(1, minPipelinedBatch)
        }
    }

    /// What a server reports about its cluster (for health checks and metrics).
    public struct Status: Sendable, Equatable {
        /// Whether the bus is reachable: the transport is connected and the last publish went through.
        public var connected: Bool
        /// The servers alive in the main namespace, this one included.
        public var servers: Int
        /// Messages waiting to be published.
        public var pendingPublishes: Int
        /// Messages dropped because they could not be published in time, or the queue was full.
        public var droppedPublishes: Int
        /// Invalid messages from the bus that were dropped.
        public var droppedMessages: Int
        /// Messages received from the other servers.
        public var receivedMessages: Int
        /// How long this server's own messages take to come back over the bus (``ClusterTransport/busLag``;
        /// `nil` when the transport does not measure it or nothing came back yet).
        public var busLag: Duration?
    }

    enum Outgoing: Sendable {
        case subscribe(String)
        case publish(ClusterMessage, done: (@Sendable ((any Error)?) -> Void)?, queuedAt: Int64)
    }

    private struct Counters {
        var transportConnected = true
        var publishing = true
        var pending = 0
        var droppedPublishes = 0
        var droppedMessages = 0
        var receivedMessages = 0
        var stopping = false
    }

    /// This server's uid on the bus (the transport's).
    public let uid: String
    /// The settings.
    public let configuration: Configuration
    let logger: Logger
    private let eventLoop: (any EventLoop)?
    private let transport: any ClusterTransport
    private let adapters = Mutex<[String: ClusterAdapter]>([:])
    private let counters = Mutex(Counters())
    /// What waits to go out, in order; ``doorbell`` rings when something is added.
    private let outbox = Mutex(Outbox())
    private let doorbell: AsyncStream<Void>
    private let doorbellSink: AsyncStream<Void>.Continuation
    /// Whether a ring is scheduled at the end of an event loop's tick (``ring()``).
    private let ringScheduled = Atomic<Bool>(false)
    /// Whether a publish in flight failed: no new batch starts before every batch in flight is over (the failed
    /// ones retried in order).
    private let publishFailed = Atomic<Bool>(false)
    /// Publish batches in flight (started, not over); each one over rings the doorbell.
    private let publishesInFlight = Atomic<Int>(0)

    private struct Outbox {
        var items: [Outgoing] = []
        var head = 0
        var closed = false
    }
    /// What the other nodes advertised in their heartbeats, and what this one advertises (``advertise(_:)``).
    let directory = ClusterNodeDirectory()

    /// Creates a server's cluster membership; nothing is published before ``run()``.
    /// - Parameters:
    ///   - transport: The bus (its ``ClusterTransport/events`` are consumed here, by nobody else).
    ///   - configuration: The settings.
    ///   - eventLoop: Where the publish, receive and tick loops run (their tasks prefer it as executor): one of
    ///     the server's loops, so that a message goes from a request to the bus, and from the bus to the sockets,
    ///     without a thread switch and wake-up at each step. `nil`: Swift's global executor.
    ///   - logger: Where to log nodes coming and going, and what could not be published.
    public init(
        transport: some ClusterTransport,
        configuration: Configuration = .init(),
        eventLoop: (any EventLoop)? = nil,
        logger: Logger
    ) {
        self.transport = transport
        self.uid = transport.localUID
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        (doorbell, doorbellSink) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The adapter factory to give ``SocketIOServer/init(configuration:adapter:logger:)``.
    public var adapter: @Sendable (AdapterContext) -> any SocketIOAdapter {
        { [self] context in makeAdapter(context) }
    }

    /// Makes the ``ClusterAdapter`` of a namespace and subscribes to the namespace's messages.
    public func makeAdapter(_ context: AdapterContext) -> ClusterAdapter {
        let adapter = ClusterAdapter(context: context, cluster: self)
        adapters.withLock { $0[context.namespace] = adapter }
        enqueue(.subscribe(context.namespace))
        adapter.start()
        return adapter
    }

    /// The adapter of `namespace`, once the namespace exists.
    public func adapter(of namespace: String) -> ClusterAdapter? { adapters.withLock { $0[namespace] } }

    /// The cluster as this server sees it now.
    public var status: Status {
        let servers = adapter(of: "/")?.serverCount ?? 1
        let busLag = transport.busLag
        return counters.withLock {
            Status(
                connected: $0.transportConnected && $0.publishing,
                servers: servers,
                pendingPublishes: $0.pending,
                droppedPublishes: $0.droppedPublishes,
                droppedMessages: $0.droppedMessages,
                receivedMessages: $0.receivedMessages,
                busLag: busLag
            )
        }
    }

    // MARK: Publishing

    /// Whether the bus takes messages now: the transport is connected and the last publish went through.
    var acceptsMessages: Bool {
        counters.withLock { $0.transportConnected && $0.publishing && !$0.stopping }
    }

    /// Queues `message`; `done` runs once it was published, or with the error once it was dropped.
    func publish(_ message: ClusterMessage, done: (@Sendable ((any Error)?) -> Void)? = nil) {
        let accepted = counters.withLock { counters -> Bool in
            guard counters.pending < configuration.maxPendingPublishes else {
                counters.droppedPublishes += 1
                return false
            }
            counters.pending += 1
            return true
        }
        guard accepted else {
            logger.error("cluster message dropped: too many waiting to be published", metadata: ["cluster.type": "\(message.type)"])
            done?(SocketIOClusterError.queueFull)
            return
        }
        enqueue(.publish(advertising(message), done: done, queuedAt: ClusterTraceClock.microseconds))
    }

    private func enqueue(_ item: Outgoing) {
        let open = outbox.withLock { outbox -> Bool in
            guard !outbox.closed else { return false }
            outbox.items.append(item)
            return true
        }
        if open {
            ring()
        } else if case .publish(_, let done, _) = item {
            counters.withLock { counters in
                counters.pending -= 1
                counters.droppedPublishes += 1
            }
            done?(SocketIOClusterError.stopped)
        }
    }

    /// Wakes the publish loop. On an event loop, once at the end of the loop's tick: what every request read in the
    /// same tick queued goes out in one batch, and the publish loop is woken once (not once per message, each
    /// wake-up taking the core from the loop in the middle of its work, to publish a batch of one).
    private func ring() {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else {
            doorbellSink.yield()
            return
        }
        guard ringScheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        loop.execute { [self] in
            ringScheduled.store(false, ordering: .releasing)
            doorbellSink.yield()
        }
    }

    /// The next thing to do: a subscription alone, or the publishes waiting at the head (at most the batch size).
    private func nextBatch() -> [Outgoing] {
        outbox.withLock { outbox in
            var batch: [Outgoing] = []
            while outbox.head < outbox.items.count, batch.count < configuration.maxPublishBatch {
                let item = outbox.items[outbox.head]
                if case .subscribe = item, !batch.isEmpty { break }
                batch.append(item)
                outbox.head += 1
                if case .subscribe = item { break }
            }
            if outbox.head == outbox.items.count {
                outbox.items.removeAll(keepingCapacity: outbox.items.count <= 1_024)
                outbox.head = 0
            } else if outbox.head >= 1_024 {
                outbox.items.removeFirst(outbox.head)
                outbox.head = 0
            }
            return batch
        }
    }

    /// Takes batches from the outbox and publishes them, up to ``Configuration/maxPublishesInFlight`` at a time: a
    /// batch is handed to the transport once the one before it is queued there in order (``ClusterTransport/
    /// publish(_:started:)``), when at least ``Configuration/minPipelinedBatch`` messages wait. A batch that fails is
    /// retried after the batch before it is over, and no new batch starts until every one in flight is over, so
    /// that retries keep the order. Returns once the outbox is closed, empty, and nothing is in flight.
    private func publishLoop() async {
        let depth = max(1, min(configuration.maxPublishesInFlight, transport.maxPublishesInFlight))
        var rings = doorbell.makeAsyncIterator()
        var previous: PublishGate?
        await withDiscardingTaskGroup { group in
            while true {
                let inFlight = publishesInFlight.load(ordering: .acquiring)
                if inFlight == 0 { publishFailed.store(false, ordering: .releasing) }
                let (waiting, head, closed) = outbox.withLock { outbox -> (Int, Outgoing?, Bool) in
                    let head = outbox.head < outbox.items.count ? outbox.items[outbox.head] : nil
                    return (outbox.items.count - outbox.head, head, outbox.closed)
                }
                var startable = inFlight == 0
                if inFlight > 0, inFlight < depth, !publishFailed.load(ordering: .acquiring), waiting >= configuration.minPipelinedBatch {
                    if case .publish = head { startable = true }
                }
                if startable, waiting > 0 {
                    let batch = nextBatch()
                    if batch.count == 1, case .subscribe(let namespace) = batch[0] {
                        _ = await retrying("subscribe to \(namespace)") { try await self.transport.subscribe(namespace: namespace) }
                        continue
                    }
                    let started = PublishGate()
                    let done = PublishGate()
                    let before = previous
                    previous = done
                    publishesInFlight.add(1, ordering: .acquiringAndReleasing)
                    group.addTask {
                        await self.process(batch, started: started, after: before)
                        self.publishesInFlight.subtract(1, ordering: .acquiringAndReleasing)
                        done.open()
                        self.doorbellSink.yield()
                    }
                    await started.wait()
                    continue
                }
                if closed, waiting == 0, inFlight == 0 { return }
                if await rings.next() == nil {  // cancelled (a shutdown that waited too long): what is left is dropped
                    dropQueued()
                    return
                }
            }
        }
    }

    /// Drops every publish still in the outbox (counted and logged; each `done` gets the error).
    private func dropQueued() {
        let items = outbox.withLock { outbox -> [Outgoing] in
            defer {
                outbox.items = []
                outbox.head = 0
                outbox.closed = true
            }
            return Array(outbox.items[outbox.head...])
        }
        var dropped = 0
        for case .publish(_, let done, _) in items {
            dropped += 1
            done?(SocketIOClusterError.stopped)
        }
        guard dropped > 0 else { return }
        counters.withLock { counters in
            counters.pending -= dropped
            counters.droppedPublishes += dropped
        }
        logger.error("cluster messages dropped: the server stopped before they were published", metadata: ["cluster.messages": "\(dropped)"])
    }

    private func process(_ batch: [Outgoing], started: PublishGate, after before: PublishGate?) async {
        var messages: [ClusterMessage] = []
        var callbacks: [@Sendable ((any Error)?) -> Void] = []
        var oldest = Int64.max
        var newest = Int64.min
        for case .publish(let message, let done, let queuedAt) in batch {
            messages.append(message)
            if let done { callbacks.append(done) }
            oldest = min(oldest, queuedAt)
            newest = max(newest, queuedAt)
        }
        let taken = ClusterTraceClock.microseconds
        var first = true
        let error = await retrying("publish") {
            if first {
                first = false
                do {
                    try await self.transport.publish(messages, started: { started.open() })
                } catch {
                    publishFailed.store(true, ordering: .releasing)
                    started.open()
                    throw error
                }
            } else {
                await before?.wait()  // a retry goes out after the batch before this one is over
                try await self.transport.publish(messages)
            }
        }
        started.open()
        logger.debug(
            "cluster trace",
            metadata: [
                "stage": "batch", "count": "\(messages.count)", "oldest": "\(oldest)", "newest": "\(newest)",
                "taken": "\(taken)", "end": "\(ClusterTraceClock.microseconds)",
            ]
        )
        counters.withLock { counters in
            counters.pending -= messages.count
            if error != nil { counters.droppedPublishes += messages.count }
        }
        if let error {
            logger.error(
                "cluster messages dropped: the bus refused them (retry deadline passed, or the server is stopping)",
                metadata: ["cluster.messages": "\(messages.count)", "error.message": "\(error)"]
            )
        }
        for done in callbacks { done(error) }
    }

    /// Runs `operation` until it succeeds, the retry deadline passes, or the server stops.
    /// - Returns: The last error when it never succeeded.
    private func retrying(_ what: String, _ operation: () async throws -> Void) async -> (any Error)? {
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.publishRetryDeadline
        var delay = configuration.publishRetryDelay
        while true {
            do {
                try await operation()
                let recovered = counters.withLock { counters -> Bool in
                    defer { counters.publishing = true }
                    return !counters.publishing
                }
                if recovered { logger.info("cluster bus accepts messages again") }
                return nil
            } catch {
                let (stopping, first) = counters.withLock { counters -> (Bool, Bool) in
                    defer { counters.publishing = false }
                    return (counters.stopping, counters.publishing)
                }
                if first { logger.warning("cannot \(what) on the cluster bus, retrying", metadata: ["error.message": "\(error)"]) }
                if stopping || Task.isCancelled || clock.now + delay > deadline { return error }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    // MARK: Receiving

    private func consume<Transport: ClusterTransport>(_ transport: Transport) async {
        for await event in transport.events {
            switch event {
            case .message(let message):
                let consumed = ClusterTraceClock.microseconds
                counters.withLock { $0.receivedMessages += 1 }
                noteAdvertisement(of: message)
                adapter(of: message.nsp)?.receive(message)
                logger.debug(
                    "cluster trace",
                    metadata: [
                        "stage": "applied", "id": "\(message.logID ?? 0)", "consumed": "\(consumed)",
                        "end": "\(ClusterTraceClock.microseconds)",
                    ]
                )
            case .disconnected(let reason):
                counters.withLock { $0.transportConnected = false }
                logger.warning("cluster bus disconnected", metadata: ["error.message": "\(reason)"])
            case .reconnected:
                counters.withLock { $0.transportConnected = true }
                logger.info("cluster bus reconnected")
            case .dropped(let error):
                counters.withLock { $0.droppedMessages += 1 }
                logger.warning("invalid cluster message dropped", metadata: ["error.message": "\(error)"])
            }
        }
    }

    private func tickLoop() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.tickInterval)
            } catch {
                return
            }
            let now = ContinuousClock.now
            for adapter in adapters.withLock({ Array($0.values) }) { adapter.tick(now: now) }
        }
    }

    // MARK: Service

    /// Publishes and receives until a graceful shutdown (or cancellation); then tells the other servers this one
    /// leaves (ADAPTER_CLOSE) and publishes what is still queued, without retrying, for at most the membership's
    /// request timeout (a publish still waiting then is cancelled, and what is left is dropped).
    public func run() async throws {
        var executor: EventLoopTaskExecutor?
        if let eventLoop { executor = try? await eventLoop.submit { EventLoopTaskExecutor.current(on: eventLoop) }.get() }
        let publisher = Task(executorPreference: executor) { await self.publishLoop() }
        await withDiscardingTaskGroup { group in
            group.addTask(executorPreference: executor) { await self.consume(self.transport) }
            group.addTask(executorPreference: executor) { await self.tickLoop() }
            try? await gracefulShutdown()
            counters.withLock { $0.stopping = true }
            for adapter in adapters.withLock({ Array($0.values) }) { adapter.stop() }
            outbox.withLock { $0.closed = true }
            doorbellSink.yield()  // the publish loop sends what is queued, then returns
            // what is queued goes out once, without retries; a bus that cannot take it (a database gone: the publish
            // waits for a connection) holds the shutdown at most the request timeout, then the publish is cancelled
            let deadline = Task {
                guard (try? await Task.sleep(for: configuration.membership.requestTimeout)) != nil else { return }
                publisher.cancel()
            }
            await publisher.value
            deadline.cancel()
            group.cancelAll()
        }
    }
}
