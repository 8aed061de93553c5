public import Logging
public import NIOCore
import PostgresNIO
public import PushinatorCluster
import PushinatorJSON
import PushinatorEventLoop
import PushinatorMessagePack
public import ServiceLifecycle
import Synchronization

/// The cluster bus on PostgreSQL, wire-compatible with @socket.io/postgres-adapter 0.5 and
/// @socket.io/postgres-emitter, and keeping a log so that nothing is lost while a node reconnects.
///
/// - A message goes out with `SELECT pg_notify('{prefix}#{nsp}', json)`; one with binary, or whose JSON takes
///   ``PostgresClusterConfiguration/payloadThreshold`` bytes or more, is stored as MessagePack in the attachment
///   table and the notification carries `{"uid", "type", "attachmentId"}` (the Node adapter's format).
/// - Every message published is also appended to the log table in the same statement, and its notification
///   carries the log id as `pushinatorLogId` (Node ignores the member). The notification is the doorbell: after
///   its listening connection comes back, a node reads what it missed from the log. A node that publishes with a
///   ``PostgresClusterConfiguration/nodeName`` saves its position and also catches up after a restart.
/// - Messages from Node nodes and the emitter (no log id) are delivered as they arrive, as Node does.
///
/// Run it as a `Service` (it owns a connection pool and the listening connection):
/// ```swift
/// let transport = try PostgresClusterTransport(configuration: .init(url: PostgresURL(url)), logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await transport.run() }
///     try await transport.subscribe(namespace: "/")
///     for await event in transport.events { ... }
/// }
/// ```
public final class PostgresClusterTransport: ClusterTransport, Service {
    /// The configuration.
    public let configuration: PostgresClusterConfiguration
    /// What arrives; finishes when ``run()`` returns.
    public let events: AsyncStream<ClusterTransportEvent>

    private let eventSink: AsyncStream<ClusterTransportEvent>.Continuation
    private let client: PostgresClient
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let decoder: ClusterMessageDecoder
    private let state = Mutex(State())

    private struct State {
        var namespaces: Set<String> = []
        var newNamespaces: AsyncStream<String>.Continuation?
        var cursor: ClusterLogCursor?
        var savedPosition: Int64?
        var sessionCatchUpStart: Int64?
        var listening: Set<String> = []
        var running = false
        var connected = false
        var outage = false
        var droppedEvents = 0
        var lag = BusLagMeter()
        /// The connection every publish goes through (in order), while it is open.
        var publishing: PublishingConnection?
    }

    /// The publishing connection, or its connection attempt that publishes started meanwhile wait for.
    private enum PublishingConnection {
        case connecting(Task<PostgresConnection, any Error>)
        case open(PostgresConnection)
    }

    /// Creates the transport; nothing connects before ``run()``.
    /// - Parameters:
    ///   - configuration: The database and tables.
    ///   - eventLoopGroup: The loops of the database connections. A server passes its own, so that a publish, its
    ///     answer and the notifications run on the threads that serve the requests (no thread switch and wake-up
    ///     between them); default: PostgresNIO's shared group.
    ///   - logger: Where to log (connection changes at `info`, dropped messages at `warning`).
    /// - Throws: ``PostgresClusterTransportError`` for an invalid configuration.
    public init(
        configuration: PostgresClusterConfiguration,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        logger: Logger
    ) throws(PostgresClusterTransportError) {
        try configuration.validate()
        self.configuration = configuration
        let eventLoopGroup = eventLoopGroup ?? PostgresClient.defaultEventLoopGroup
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.decoder = ClusterMessageDecoder(limits: .init(maxMessageBytes: configuration.maxMessageBytes))
        (self.events, self.eventSink) = AsyncStream.makeStream(
            of: ClusterTransportEvent.self,
            bufferingPolicy: .bufferingOldest(configuration.maxPendingEvents)
        )
        self.client = PostgresClient(
            configuration: configuration.url.clientConfiguration(),
            eventLoopGroup: eventLoopGroup,
            backgroundLogger: logger
        )
    }

    /// The uid this node publishes with (``PostgresClusterConfiguration/localUID``).
    public var localUID: String { configuration.localUID }

    /// Whether the listening connection is up.
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// The namespaces whose channel is being listened to right now (`LISTEN` done, catch-up included).
    public var listeningNamespaces: Set<String> { state.withLock { $0.listening } }

    /// How long this node's own messages take from their publish to their notification coming back (the last one,
    /// or the oldest still waiting when it is older): `nil` before the first has come back.
    public var busLag: Duration? { state.withLock { $0.lag.lag(now: .now) } }

    /// The highest log id this node has delivered (`nil` before ``run()`` read it).
    public var logPosition: Int64? { state.withLock { $0.cursor?.position } }

    // MARK: Publishing

    /// Publishes `message` on its namespace's channel (see the type's documentation for the format).
    /// - Parameter message: The message.
    /// - Throws: ``PostgresClusterTransportError`` when the message is too large, or the database's error.
    public func publish(_ message: ClusterMessage) async throws {
        try await publish([message])
    }

    /// Publishes `messages` in order and in one transaction (all or none): the small ones together in one
    /// statement (their log rows in one `INSERT`, one notification each, in the format of a single message), each
    /// large or binary one through the attachment table.
    /// - Parameter messages: The messages, in the order they go out.
    /// - Throws: ``PostgresClusterTransportError`` when a message is too large, or the database's error (nothing
    ///   is published then).
    public func publish(_ messages: [ClusterMessage]) async throws {
        try await publish(messages, started: {})
    }

    /// Publishes on one connection of its own, publishes in flight at once (PostgreSQL runs a connection's
    /// statements one after the other, in the order they were sent, so each commits after those started before it).
    public var maxPublishesInFlight: Int { 8 }

    /// Publishes `messages` as `publish(_ messages:)` does, on the publishing connection: `started`
    /// runs once the statements are queued on it, so that a publish started after that goes out (and commits, and
    /// notifies) after this one, while this one is still in flight: a statement queued behind another is sent as
    /// soon as the other one is answered, without waiting for this node to read the answer and send the next.
    public func publish(_ messages: [ClusterMessage], started: @escaping @Sendable () -> Void) async throws {
        // the pool runs inside run(): before it (or after it returned) a query would wait for it forever
        guard state.withLock({ $0.running }) else {
            throw PostgresClusterTransportError.database("publish before run() started the transport, or after it ended")
        }
        var statements: [PostgresQuery] = []
        var small = PostgresClusterBatch()
        for message in messages {
            let channel = configuration.channel(of: message.nsp)
            let json = message.jsonValue
            let text = message.hasBinary ? nil : json.jsonString
            // sized after the JSON text, which MessagePack rarely exceeds: one allocation instead of a few regrowths
            var packed = ByteBuffer()
            packed.reserveCapacity(text.map { $0.utf8.count + 16 } ?? 256)
            json.writeMessagePack(to: &packed)
            guard packed.readableBytes <= configuration.maxMessageBytes else {
                throw PostgresClusterTransportError(
                    kind: .message,
                    message: "a message of \(packed.readableBytes) bytes is over maxMessageBytes"
                )
            }
            // the log id appended to the notification takes at most 40 bytes
            if let text, text.utf8.count + 40 < configuration.payloadThreshold {
                small.append(channel: channel, uid: message.uid, payload: packed, notification: text)
                continue
            }
            if !small.isEmpty { statements.append(batchStatement(small)) }
            small = PostgresClusterBatch()
            statements.append(attachmentStatement(message, channel: channel, packed: packed))
        }
        if !small.isEmpty { statements.append(batchStatement(small)) }
        guard !statements.isEmpty else { return }
        let connection = try await publishingConnection()
        let start = ContinuousClock.now
        let traceStart = ClusterTraceClock.microseconds
        // every statement queued now, in order; several in one transaction (all or none): a failing one makes the
        // next fail and the COMMIT a ROLLBACK
        let answers: [EventLoopFuture<PostgresQueryResult>]
        do {
            answers = try await Self.queue(statements, on: connection, logger: logger)
        } catch {
            forgetPublishingConnection(connection)
            throw error
        }
        started()
        var ids: [Int64] = []
        do {
            for answer in answers {
                let result = try await answer.get()
                if result.metadata.command == "ROLLBACK" {
                    throw PostgresClusterTransportError.database("the publish's transaction was rolled back")
                }
                for row in result.rows {
                    switch row.count {
                    case 1: ids += try row.decode([Int64].self)  // a batch: its log ids
                    case 2: ids.append(try row.decode((Int64, String).self).0)  // an attachment: its log id
                    default: break
                    }
                }
            }
        } catch {
            if connection.isClosed { forgetPublishingConnection(connection) }
            throw error
        }
        state.withLock { $0.lag.published(ids, startedAt: start) }
        logger.debug(
            "cluster trace",
            metadata: [
                "stage": "published", "first": "\(ids.first ?? 0)", "last": "\(ids.last ?? 0)", "count": "\(ids.count)",
                "start": "\(traceStart)", "end": "\(ClusterTraceClock.microseconds)",
            ]
        )
    }

    /// Queues `statements` on `connection` in order (in a transaction when there are several) and returns their
    /// answers. On the connection's event loop: PostgresNIO drops a query written once the connection closed and its
    /// handlers are gone (its answer never comes; a publish would wait for it forever, and every publish behind it),
    /// so the queries are written only while the connection is open, where a close answers each with an error.
    /// - Throws: ``PostgresClusterTransportError`` when the connection is closed.
    static func queue(
        _ statements: [PostgresQuery],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [EventLoopFuture<PostgresQueryResult>] {
        let write = { @Sendable () throws -> [EventLoopFuture<PostgresQueryResult>] in
            guard !connection.isClosed else {
                throw PostgresClusterTransportError.database("the publishing connection is closed")
            }
            var answers: [EventLoopFuture<PostgresQueryResult>] = []
            if statements.count > 1 { answers.append(connection.query("BEGIN", logger: logger)) }
            for statement in statements { answers.append(connection.query(statement, logger: logger)) }
            if statements.count > 1 { answers.append(connection.query("COMMIT", logger: logger)) }
            return answers
        }
        if connection.eventLoop.inEventLoop { return try write() }
        return try await connection.eventLoop.submit(write).get()
    }

    /// The publishing connection: the open one, or a new one (publishes started meanwhile wait for the same
    /// attempt). A connection that closed is replaced at the next publish.
    private func publishingConnection() async throws -> PostgresConnection {
        let attempt = state.withLock { state -> PublishingConnection in
            switch state.publishing {
            case .open(let connection) where !connection.isClosed:
                return .open(connection)
            case .connecting(let task):
                return .connecting(task)
            default:
                let task = Task { try await self.connect() }
                state.publishing = .connecting(task)
                return .connecting(task)
            }
        }
        let task: Task<PostgresConnection, any Error>
        switch attempt {
        case .open(let connection): return connection
        case .connecting(let attempt): task = attempt
        }
        do {
            let connection = try await task.value
            let closeNow = state.withLock { state -> Bool in
                guard state.running else { return true }
                if case .connecting = state.publishing { state.publishing = .open(connection) }
                return false
            }
            if closeNow {
                try? await connection.close()
                throw PostgresClusterTransportError.database("publish after run() ended")
            }
            return connection
        } catch {
            state.withLock { state in
                if case .connecting = state.publishing { state.publishing = nil }
            }
            throw error
        }
    }

    private func forgetPublishingConnection(_ connection: PostgresConnection) {
        state.withLock { state in
            if case .open(let open) = state.publishing, open === connection { state.publishing = nil }
        }
    }

    /// The statement of the small messages of a batch: the publish function (``PostgresClusterSchema/
    /// publishFunction(_:)``) draws the log ids in order, inserts the rows and sends a notification each (its JSON
    /// with the log id appended), in the batch's order. Answers one row: the log ids, in that order.
    private func batchStatement(_ batch: PostgresClusterBatch) -> PostgresQuery {
        """
        SELECT \(unescaped: configuration.publishFunction)(\(batch.channels)::text[], \(batch.uids)::text[],
            \(batch.payloads)::bytea[], \(batch.notifications)::text[])
        """
    }

    /// The statement of a large or binary message: MessagePack in the attachment table, its id in the notification
    /// (the Node adapter's format). Answers the log id.
    private func attachmentStatement(_ message: ClusterMessage, channel: String, packed: ByteBuffer) -> PostgresQuery {
        let uid = message.uid
        let type = message.type.rawValue
        return """
            WITH attachment AS (
                INSERT INTO \(unescaped: configuration.attachmentTable) (payload) VALUES (\(packed)) RETURNING id
            ), entry AS (
                INSERT INTO \(unescaped: configuration.logTable) (channel, uid, payload)
                VALUES (\(channel), \(uid), \(packed)) RETURNING id
            )
            SELECT entry.id, pg_notify(\(channel), json_build_object(
                'uid', \(uid)::text, 'type', \(type)::int, 'attachmentId', attachment.id::text,
                'pushinatorLogId', entry.id
            )::text)::text FROM attachment, entry
            """
    }

    // MARK: Subscribing

    /// Listens to `namespace`'s channel from now on, and again after every reconnection.
    /// - Parameter namespace: The namespace, such as `"/"`.
    public func subscribe(namespace: String) async throws {
        let sink = state.withLock { state -> AsyncStream<String>.Continuation? in
            guard state.namespaces.insert(namespace).inserted else { return nil }
            return state.newNamespaces
        }
        sink?.yield(namespace)
    }

    // MARK: Running

    /// Connects, creates the tables if needed, listens (reconnecting with backoff), and deletes old rows, until
    /// cancelled or a graceful shutdown.
    /// - Throws: ``PostgresClusterTransportError`` when the database cannot be reached or prepared at start-up.
    public func run() async throws {
        defer { eventSink.finish() }
        let first: PostgresConnection
        do {
            first = try await connect()
            try await PostgresClusterSchema.prepare(on: first, configuration, logger: logger)
            try await loadCursor(on: first)
        } catch {
            throw PostgresClusterTransportError.database(
                "cannot start on \(configuration.url): \(String(reflecting: error))"
            )
        }
        logger.info("cluster transport connected", metadata: ["postgres.url": "\(configuration.url)"])
        state.withLock { $0.running = true }
        defer {
            let publishing = state.withLock { state -> PublishingConnection? in
                state.running = false
                defer { state.publishing = nil }
                return state.publishing
            }
            switch publishing {
            case .open(let connection):
                connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }  // released once closed
            case .connecting(let attempt):
                Task { try? await attempt.value.close() }  // a connection must be closed before it is released
            case nil:
                break
            }
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.listenLoop(first: first) }
            group.addTask { await self.maintenanceLoop() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        // the last position, on a connection of its own in a task of its own (ours and the pool may be cancelled)
        await Task { await self.saveCursorOnce() }.value
    }

    /// Connects once and closes, so that an application can refuse to start before it listens.
    /// - Throws: ``PostgresClusterTransportError`` (`cannot start on postgres://user@host:port/db: …`, no password).
    public func checkReachable() async throws(PostgresClusterTransportError) {
        do {
            let connection = try await connect()
            try await connection.close()
        } catch {
            throw .database("cannot start on \(configuration.url): \(String(reflecting: error))")
        }
    }

    private func saveCursorOnce() async {
        guard configuration.nodeName != nil else { return }
        do {
            let connection = try await connect()
            try await saveCursor(on: connection)
            try await connection.close()
        } catch {
            logger.warning("cannot save the cluster log position", metadata: ["error": "\(error)"])
        }
    }

    private func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            on: eventLoopGroup.any(),
            configuration: try configuration.url.connectionConfiguration(),
            id: 1,
            logger: logger
        )
    }

    private func loadCursor(on connection: PostgresConnection) async throws {
        var position: Int64?
        if let node = configuration.nodeName {
            let rows = try await connection.query(
                "SELECT log_id FROM \(unescaped: configuration.cursorTable) WHERE node = \(node)",
                logger: logger
            )
            for try await logID in rows.decode(Int64.self) { position = logID }
        }
        if position == nil {
            let rows = try await connection.query(
                "SELECT coalesce(max(id), 0) FROM \(unescaped: configuration.logTable)",
                logger: logger
            )
            for try await maxID in rows.decode(Int64.self) { position = maxID }
        }
        let cursor = ClusterLogCursor(position: position ?? 0, window: configuration.catchUpWindow)
        state.withLock { $0.cursor = cursor }
        try await saveCursor(on: connection)
    }

    private func listenLoop(first: PostgresConnection) async {
        var next: PostgresConnection? = first
        var delay = configuration.reconnectDelay
        while !Task.isCancelled {
            do {
                let connection: PostgresConnection
                if let next {
                    connection = next
                } else {
                    connection = try await connect()
                }
                next = nil
                delay = configuration.reconnectDelay
                try await serve(connection)
            } catch {
                if Task.isCancelled { break }
                let wasUp = state.withLock { state -> Bool in
                    defer {
                        state.connected = false
                        state.outage = true
                    }
                    return state.connected || !state.outage
                }
                if wasUp {
                    logger.warning("cluster transport disconnected", metadata: ["error": "\(error)"])
                    emit(.disconnected(reason: "\(error)"))
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, configuration.maxReconnectDelay)
            }
        }
    }

    /// Listens on every subscribed channel over `connection` until it closes (then throws).
    private func serve(_ connection: PostgresConnection) async throws {
        let (newNamespaces, sink) = AsyncStream.makeStream(of: String.self)
        let (initial, reconnected) = state.withLock { state -> (Set<String>, Bool) in
            state.newNamespaces = sink
            state.sessionCatchUpStart = state.cursor?.catchUpStart
            let reconnected = state.outage
            state.connected = true
            state.outage = false
            return (state.namespaces, reconnected)
        }
        if reconnected {
            logger.info("cluster transport reconnected")
            emit(.reconnected)
        }
        defer { state.withLock { $0.newNamespaces = nil } }
        // each channel is read on the connection's loop: a notification goes on without a thread switch
        let loop = connection.eventLoop
        let executor = try? await loop.submit { EventLoopTaskExecutor.current(on: loop) }.get()
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try? await connection.closeFuture.get()
                    sink.finish()
                    throw PostgresClusterTransportError.database("the listening connection closed")
                }
                for namespace in initial {
                    group.addTask(executorPreference: executor) {
                        try await self.listen(on: connection, namespace: namespace, catchUp: true)
                    }
                }
                for await namespace in newNamespaces {
                    group.addTask(executorPreference: executor) {
                        try await self.listen(on: connection, namespace: namespace, catchUp: false)
                    }
                }
                try await group.waitForAll()
            }
        } onCancel: {
            sink.finish()
            let closed: EventLoopFuture<Void> = connection.close()
            _ = closed
        }
    }

    private func listen(on connection: PostgresConnection, namespace: String, catchUp: Bool) async throws {
        let channel = configuration.channel(of: namespace)
        do {
            try await connection.listen(on: channel) { notifications in
                if catchUp { try await self.catchUp(namespace: namespace, channel: channel) }
                self.state.withLock { _ = $0.listening.insert(namespace) }
                defer { self.state.withLock { _ = $0.listening.remove(namespace) } }
                for try await notification in notifications {
                    await self.receive(notification.payload, namespace: namespace)
                }
            }
        } catch {
            // one channel failing ends the session: the reconnection listens on all of them again
            try? await connection.close()
            throw error
        }
    }

    /// Reads the log rows of `channel` this node may have missed, oldest first.
    private func catchUp(namespace: String, channel: String) async throws {
        guard var after = state.withLock({ $0.sessionCatchUpStart }) else { return }
        while true {
            let rows = try await client.query(
                """
                SELECT id, uid, payload FROM \(unescaped: configuration.logTable)
                WHERE channel = \(channel) AND id > \(after) ORDER BY id LIMIT 500
                """,
                logger: logger
            )
            var count = 0
            for try await (id, uid, payload) in rows.decode((Int64, String, ByteBuffer).self) {
                count += 1
                after = id
                if uid == localUID { state.withLock { $0.lag.echoed(id, at: .now) } }
                guard state.withLock({ $0.cursor?.accept(id) ?? true }), uid != localUID else { continue }
                do {
                    var message = try decoder.decode(messagePack: payload, channelNamespace: namespace)
                    message.logID = id
                    emit(.message(message))
                } catch {
                    drop(error)
                }
            }
            if count < 500 { return }
        }
    }

    /// Handles one notification: a message, or an attachment header to read from the table.
    private func receive(_ payload: String, namespace: String) async {
        let arrival = ClusterTraceClock.microseconds
        // this node's own notification, recognised without parsing it: only its log id is needed
        if let header = ClusterNotificationHeader.skim(payload, uid: localUID), header.isFromUID {
            if let logID = header.logID {
                state.withLock { state in
                    state.lag.echoed(logID, at: .now)
                    _ = state.cursor?.accept(logID)
                }
            }
            return
        }
        let value: JSONValue
        do {
            value = try decoder.parseJSON(Array(payload.utf8))
        } catch {
            return drop(error)
        }
        let own = value["uid"]?.string == localUID
        let logID = value["pushinatorLogId"]?.int.map(Int64.init)
        if let logID {
            let accepted = state.withLock { state in
                if own { state.lag.echoed(logID, at: .now) }
                return state.cursor?.accept(logID) ?? true
            }
            guard accepted else { return }
        }
        if own { return }
        guard let attachment = value["attachmentId"] else {
            do {
                var message = try decoder.decode(jsonValue: value, channelNamespace: namespace)
                message.logID = logID
                logger.debug(
                    "cluster trace",
                    metadata: [
                        "stage": "arrived", "id": "\(logID ?? 0)", "type": "\(message.type.rawValue)",
                        "at": "\(arrival)", "decoded": "\(ClusterTraceClock.microseconds)",
                    ]
                )
                emit(.message(message))
            } catch {
                drop(error)
            }
            return
        }
        guard let attachmentID = attachment.int ?? attachment.string.flatMap({ Int($0) }) else {
            return drop(ClusterMessageError(.wrongShape, "attachmentId is \(attachment.kindName), not an id"))
        }
        do {
            let rows = try await client.query(
                "SELECT payload FROM \(unescaped: configuration.attachmentTable) WHERE id = \(attachmentID)",
                logger: logger
            )
            var found = false
            for try await bytes in rows.decode(ByteBuffer.self) {
                found = true
                do {
                    var message = try decoder.decode(messagePack: bytes, channelNamespace: namespace)
                    message.logID = logID
                    emit(.message(message))
                } catch {
                    drop(error)
                }
            }
            if !found { drop(ClusterMessageError(.wrongShape, "attachment \(attachmentID) is not in the table")) }
        } catch {
            logger.warning("cannot read a cluster attachment", metadata: ["id": "\(attachmentID)", "error": "\(error)"])
        }
    }

    /// Saves the log position every second and deletes old rows every ``PostgresClusterConfiguration/cleanupInterval``.
    private func maintenanceLoop() async {
        let clock = ContinuousClock()
        var lastCleanup = clock.now
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(1))
            } catch {
                return
            }
            do {
                try await saveCursor()
                if clock.now - lastCleanup >= configuration.cleanupInterval {
                    lastCleanup = clock.now
                    try await deleteOldRows()
                }
            } catch {
                logger.debug("cluster maintenance failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Deletes attachments older than the cleanup interval and log rows older than the retention.
    public func deleteOldRows() async throws {
        let attachmentAge = Self.seconds(configuration.cleanupInterval)
        let logAge = Self.seconds(configuration.logRetention)
        try await client.query(
            """
            DELETE FROM \(unescaped: configuration.attachmentTable)
            WHERE created_at < now() - make_interval(secs => \(attachmentAge))
            """,
            logger: logger
        )
        try await client.query(
            "DELETE FROM \(unescaped: configuration.logTable) WHERE created_at < now() - make_interval(secs => \(logAge))",
            logger: logger
        )
    }

    private func saveCursor(on connection: PostgresConnection? = nil) async throws {
        guard let node = configuration.nodeName else { return }
        let position = state.withLock { state -> Int64? in
            guard let position = state.cursor?.position, position != state.savedPosition else { return nil }
            return position
        }
        guard let position else { return }
        let query: PostgresQuery = """
            INSERT INTO \(unescaped: configuration.cursorTable) (node, log_id, updated_at) VALUES (\(node), \(position), now())
            ON CONFLICT (node) DO UPDATE SET log_id = EXCLUDED.log_id, updated_at = now()
            """
        if let connection {
            try await connection.query(query, logger: logger)
        } else {
            try await client.query(query, logger: logger)
        }
        state.withLock { $0.savedPosition = position }
    }

    private func emit(_ event: ClusterTransportEvent) {
        if case .dropped = eventSink.yield(event) {
            let count = state.withLock { state in
                state.droppedEvents += 1
                return state.droppedEvents
            }
            logger.error("cluster events dropped: nobody consumes them", metadata: ["count": "\(count)"])
        }
    }

    private func drop(_ error: ClusterMessageError) {
        logger.warning("invalid cluster message dropped", metadata: ["error": "\(error)"])
        emit(.dropped(error))
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
