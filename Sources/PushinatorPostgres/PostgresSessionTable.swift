public import Logging
import NIOCore
import PostgresNIO
import PushinatorCluster
import PushinatorJSON
public import PushinatorSocketIO
public import ServiceLifecycle
import Synchronization

/// The shared half of connection state recovery on a PostgreSQL cluster: the sessions of every node's sockets in
/// one table, written behind in batches, and the cluster log read back for a client that comes back elsewhere.
///
/// A session is written when its socket connects and after each room change (so it is in the table before the
/// node can die: a `kill -9` says nothing), marked disconnected when its connection drops, deleted when it leaves
/// for good (a DISCONNECT, a kick) or is taken back. Each node also writes its own row in the node table every
/// ``Configuration/nodeHeartbeat``: a session expires ``Configuration/maxDisconnectionDuration`` after its
/// disconnection, or after its node was last seen (a node killed with `kill -9`). Expired rows are deleted every
/// ``Configuration/cleanupInterval``.
///
/// ```swift
/// let sessions = PostgresSessionTable(configuration: .init(cluster: clusterConfiguration,
///     maxDisconnectionDuration: .seconds(120)), transport: transport, logger: logger)
/// let recovery = ConnectionStateRecovery(maxDisconnectionDuration: .seconds(120),
///     makeStore: { namespace, recovery in sessions.store(namespace: namespace, recovery: recovery) })
/// // run `sessions` as a Service beside the transport
/// ```
public final class PostgresSessionTable: Service, Sendable {
    /// The settings of a ``PostgresSessionTable``.
    public struct Configuration: Sendable {
        /// The cluster's database, log table and channel prefix.
        public var cluster: PostgresClusterConfiguration
        /// The session table (a lower-case identifier). Default `pushinator_recovery_sessions`.
        public var sessionTable = "pushinator_recovery_sessions"
        /// The node table. Default `pushinator_recovery_nodes`.
        public var nodeTable = "pushinator_recovery_nodes"
        /// How long a session is kept after its disconnection (or its node's last heartbeat).
        public var maxDisconnectionDuration: Duration
        /// How often pending writes go out. Default 100 ms.
        public var flushInterval: Duration = .milliseconds(100)
        /// The most session writes waiting; beyond, the oldest are dropped (logged). Default 100,000.
        public var maxPendingWrites = 100_000
        /// How often a node writes its row. Default 5 s.
        public var nodeHeartbeat: Duration = .seconds(5)
        /// How often expired sessions and nodes are deleted. Default 30 s.
        public var cleanupInterval: Duration = .seconds(30)
        /// The most log rows one restoration reads; beyond, the client gets a fresh session. Default 10,000.
        public var maxReplayRows = 10_000
        /// How long a restoration waits for this node to receive the log rows it read. Default 1 s.
        public var receiveWait: Duration = .seconds(1)

        /// Creates settings.
        public init(cluster: PostgresClusterConfiguration, maxDisconnectionDuration: Duration) {
            self.cluster = cluster
            self.maxDisconnectionDuration = maxDisconnectionDuration
        }
    }

    /// What the table did, for metrics and tests.
    public struct Statistics: Sendable, Equatable {
        /// Session writes waiting.
        public var pendingWrites = 0
        /// Session writes sent to the database.
        public var writes = 0
        /// Session writes dropped because ``Configuration/maxPendingWrites`` was reached.
        public var droppedWrites = 0
        /// Sessions taken back (here or on another node).
        public var restored = 0
        /// Batches that failed (kept and retried).
        public var failedBatches = 0
    }

    enum Pending: Sendable, Equatable {
        case upsert(PostgresSessionRow, disconnected: Bool)
        case markDisconnected
        case delete
    }

    private struct State {
        var pending: [String: Pending] = [:]
        var order = CircularBuffer<String>()
        var statistics = Statistics()
        var running = false
    }

    /// The settings.
    public let configuration: Configuration
    /// The socket storage keys kept with each session.
    public let storageKeys: [any PersistedSocketStorageKey.Type]
    private let transport: PostgresClusterTransport
    private let client: PostgresClient
    private let logger: Logger
    private let decoder: ClusterMessageDecoder
    private let state = Mutex(State())

    /// Creates the table's writer; nothing connects before ``run()``.
    /// - Parameters:
    ///   - configuration: The settings.
    ///   - transport: The cluster transport: its uid names this node, its position tells what it received.
    ///   - storageKeys: The socket storage keys kept with each session.
    ///   - logger: Where to log.
    public init(
        configuration: Configuration,
        transport: PostgresClusterTransport,
        storageKeys: [any PersistedSocketStorageKey.Type] = [],
        logger: Logger
    ) {
        self.configuration = configuration
        self.transport = transport
        self.storageKeys = storageKeys
        self.logger = logger
        self.decoder = ClusterMessageDecoder(limits: .init(maxMessageBytes: configuration.cluster.maxMessageBytes))
        self.client = PostgresClient(configuration: configuration.cluster.url.clientConfiguration(), backgroundLogger: logger)
    }

    /// The store of one namespace: sessions in memory for this node, and in the table for every node.
    public func store(namespace: String, recovery: ConnectionStateRecovery) -> PostgresSessionStore {
        PostgresSessionStore(memory: InMemorySessionStore(limits: .init(recovery)), table: self)
    }

    /// The uid of this node.
    public var nodeUID: String { transport.localUID }

    /// The counters.
    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.pendingWrites = state.pending.count
            return statistics
        }
    }

    // MARK: Writing behind

    func enqueue(pid: String, _ change: (Pending?) -> Pending) {
        let dropped = state.withLock { state -> String? in
            let previous = state.pending[pid]
            state.pending[pid] = change(previous)
            guard previous == nil else { return nil }
            state.order.append(pid)
            guard state.pending.count > configuration.maxPendingWrites else { return nil }
            while let oldest = state.order.first {
                state.order.removeFirst()
                if state.pending.removeValue(forKey: oldest) != nil {
                    state.statistics.droppedWrites += 1
                    return oldest
                }
            }
            return nil
        }
        if let dropped { logger.error("session write dropped: too many pending", metadata: ["sio.pid": "\(dropped.prefix(4))…"]) }
    }

    /// Sends the pending writes (one statement per kind).
    func flush() async {
        let batch = state.withLock { state -> [String: Pending] in
            defer {
                state.pending = [:]
                state.order = CircularBuffer()
            }
            return state.pending
        }
        guard !batch.isEmpty else { return }
        let statements = PostgresSessionSQL.batch(batch, node: nodeUID, table: configuration.sessionTable)
        do {
            for query in statements { try await client.query(query, logger: logger) }
            state.withLock { $0.statistics.writes += batch.count }
        } catch {
            // put back what is not newer, to retry
            state.withLock { state in
                state.statistics.failedBatches += 1
                for (pid, write) in batch where state.pending[pid] == nil {
                    state.pending[pid] = write
                    state.order.append(pid)
                }
            }
            logger.warning("session writes failed, retrying", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    // MARK: Restoring

    func take(pid: String, namespace: String) async -> SessionRecord? {
        await flush()  // this node's own pending writes first
        do {
            let rows = try await client.query(
                PostgresSessionSQL.take(pid: pid, namespace: namespace, configuration: configuration),
                logger: logger
            )
            for try await (sid, node, rooms, data, storage, base) in rows.decode((String, String, String, String, String, String).self) {
                let row = PostgresSessionRow(
                    pid: pid,
                    namespace: namespace,
                    sid: sid,
                    node: node,
                    rooms: rooms,
                    data: data,
                    storage: storage,
                    baseOffset: base
                )
                state.withLock { $0.statistics.restored += 1 }
                return row.record
            }
        } catch {
            logger.warning("cannot read a recovery session", metadata: ["error": "\(String(reflecting: error))"])
        }
        return nil
    }

    func logMessages(namespace: String, after: Int64) async -> [ClusterMessage]? {
        let channel = configuration.cluster.channel(of: namespace)
        let limit = configuration.maxReplayRows
        do {
            let rows = try await client.query(
                """
                SELECT id, payload FROM \(unescaped: configuration.cluster.logTable)
                WHERE channel = \(channel) AND id > \(after) ORDER BY id LIMIT \(limit + 1)
                """,
                logger: logger
            )
            var messages: [ClusterMessage] = []
            for try await (id, payload) in rows.decode((Int64, ByteBuffer).self) {
                guard messages.count < limit else { return nil }
                guard var message = try? decoder.decode(messagePack: payload, channelNamespace: namespace) else { continue }
                message.logID = id
                messages.append(message)
            }
            return messages
        } catch {
            logger.warning("cannot read the cluster log for recovery", metadata: ["error": "\(String(reflecting: error))"])
            return nil
        }
    }

    func waitUntilReceived(through logID: Int64) async {
        let deadline = ContinuousClock.now + configuration.receiveWait
        while (transport.logPosition ?? 0) < logID, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    // MARK: Running

    /// Creates the tables, then writes behind, beats and deletes expired rows until a graceful shutdown (writes
    /// still pending then are lost: their sessions expire with the node's heartbeat).
    public func run() async throws {
        let connection = try await PostgresConnection.connect(
            configuration: try configuration.cluster.url.connectionConfiguration(),
            id: 2,
            logger: logger
        )
        do {
            try await PostgresSessionSQL.prepare(on: connection, configuration, logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw PostgresClusterTransportError.database("cannot create the recovery session table: \(String(reflecting: error))")
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.loop() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func loop() async {
        let clock = ContinuousClock()
        var lastBeat = clock.now - configuration.nodeHeartbeat
        var lastCleanup = clock.now
        while true {
            if clock.now - lastBeat >= configuration.nodeHeartbeat {
                lastBeat = clock.now
                do {
                    try await client.query(PostgresSessionSQL.beat(node: nodeUID, table: configuration.nodeTable), logger: logger)
                } catch {
                    logger.debug("recovery node heartbeat failed", metadata: ["error": "\(error)"])
                }
            }
            await flush()
            if clock.now - lastCleanup >= configuration.cleanupInterval {
                lastCleanup = clock.now
                do {
                    for query in PostgresSessionSQL.cleanup(configuration) { try await client.query(query, logger: logger) }
                } catch {
                    logger.debug("recovery session cleanup failed", metadata: ["error": "\(error)"])
                }
            }
            if Task.isCancelled { break }
            try? await Task.sleep(for: configuration.flushInterval)
        }
    }
}
