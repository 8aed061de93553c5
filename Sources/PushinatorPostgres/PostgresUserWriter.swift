import Logging
import NIOCore
import PostgresNIO
import PushinatorKit
import Synchronization

/// One request to ``PostgresUserWriter``.
enum PostgresUserOperation: Sendable {
    case upsertUser(String, HashDigest)
    case deleteUsers([String])
    /// Messages to append, and the per-user limit to trim to afterwards (0: no trim).
    case insertMessages([QueuedMessage], maxPerUser: Int)
    case claim(String)
    case lookup(String)
    /// Marks the connected users active and deletes the idle candidates (no activity for `milliseconds`).
    case expireIdle(candidates: [String], connected: [String], milliseconds: Int64)
    /// Deletes expired messages (before `cutoff`, when set), trims to `maxBytes`, removes orphans, counts.
    case sweep(cutoff: Int64?, maxBytes: Int)

    /// Operations of one kind that run as one statement when consecutive.
    var groupKind: Int? {
        switch self {
        case .upsertUser: 0
        case .deleteUsers: 1
        case .insertMessages: 2
        case .claim: 3
        case .lookup: 4
        case .expireIdle, .sweep: nil
        }
    }
}

/// What one operation got back.
enum PostgresUserOutcome: Sendable {
    case done
    /// Users deleted (`deleteUsers`: those of the request that existed; `expireIdle`: candidates no longer there).
    case removed([String])
    /// Messages pushed out by the per-user limit.
    case trimmed(Int)
    case claimed([QueuedMessage])
    case found(HashDigest?)
    case swept(expired: Int, dropped: Int, messages: Int, bytes: Int)
}

/// Runs ``PostgresUserStore``'s operations on one connection, grouping whatever is pending into one transaction
/// (consecutive operations of a kind as one array statement) with a ``BatchWriter``, as the SQLite store's writer
/// does. Operations run in submission order, so a node's `claim` sees the messages it queued before. The connection
/// is opened again after a failure; a transaction that takes longer than ``timeout`` is abandoned (its connection
/// closed) and fails.
final class PostgresUserWriter: Sendable {
    /// The most operations waiting; more are refused (the admin call gets a 503).
    static let maxPending = 100_000
    /// The most operations in one transaction.
    static let maxBatch = 4_096

    let statements: PostgresUserStatements
    private let configuration: PostgresConnection.Configuration
    private let address: String
    private let logger: Logger
    private let timeout: Duration
    /// The pending operations and the drain loop, a transaction per batch.
    private let batches = BatchWriter<PostgresUserOperation, PostgresUserOutcome>(
        maxPending: PostgresUserWriter.maxPending,
        maxBatch: PostgresUserWriter.maxBatch
    )
    /// The connection, `nil` after a failure until the next transaction opens one.
    private let connection: Mutex<PostgresConnection?>

    init(
        statements: PostgresUserStatements,
        configuration: PostgresConnection.Configuration,
        address: String,
        connection: PostgresConnection,
        timeout: Duration,
        logger: Logger
    ) {
        self.statements = statements
        self.configuration = configuration
        self.address = address
        self.timeout = timeout
        self.logger = logger
        self.connection = Mutex(connection)
        batches.start { [weak self] operations in
            await self?.execute(operations) ?? .failure(UserStoreError("the user store is closed"))
        }
    }

    /// Queues `operation` for the next transaction; `finish` runs (in submission order) when it ended.
    func submit(_ operation: PostgresUserOperation, finish: @escaping @Sendable (Result<PostgresUserOutcome, UserStoreError>) -> Void) {
        batches.submit(operation, finish: finish)
    }

    /// Runs `operation` and returns what it got.
    func run(_ operation: PostgresUserOperation) async throws(UserStoreError) -> PostgresUserOutcome {
        try await batches.run(operation)
    }

    /// Returns once every operation submitted before is finished.
    func flush() async {
        await batches.flush()
    }

    /// Closes the connection (after ``flush()``).
    func close() async {
        let connection = self.connection.withLock { connection in
            defer { connection = nil }
            return connection
        }
        try? await connection?.close()
    }

    /// One transaction for `operations`; their outcomes in order, or the error that rolled it back.
    private func execute(_ operations: [PostgresUserOperation]) async -> Result<[PostgresUserOutcome], UserStoreError> {
        let connection: PostgresConnection
        do {
            connection = try await currentConnection()
        } catch {
            logger.error("user store unreachable", metadata: ["postgres.url": "\(address)", "error.message": "\(String(reflecting: error))"])
            return .failure(UserStoreError("the user store \(address) is unreachable: \(PostgresUserStore.reason(error))"))
        }
        let watchdog = Task { [timeout] in
            try await Task.sleep(for: timeout)
            try? await connection.close()  // the running query fails
        }
        defer { watchdog.cancel() }
        do {
            try await connection.query("BEGIN", logger: logger)
            let outcomes = try await run(operations, on: connection)
            try await connection.query("COMMIT", logger: logger)
            return .success(outcomes)
        } catch {
            logger.error(
                "user store write failed; nothing of it was stored",
                metadata: ["store.operations": "\(operations.count)", "error.message": "\(String(reflecting: error))"]
            )
            // a broken transaction or connection: start again on a new one
            self.connection.withLock { if $0 === connection { $0 = nil } }
            try? await connection.close()
            return .failure(UserStoreError("the user store could not write: \(PostgresUserStore.reason(error))"))
        }
    }

    private func currentConnection() async throws -> PostgresConnection {
        if let connection = self.connection.withLock({ $0 }), !connection.isClosed { return connection }
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
        self.connection.withLock { $0 = connection }
        logger.info("user store connected", metadata: ["postgres.url": "\(address)"])
        return connection
    }

    /// The statements of `operations` on `connection`, inside the transaction.
    private func run(_ operations: [PostgresUserOperation], on connection: PostgresConnection) async throws -> [PostgresUserOutcome] {
        var outcomes = [PostgresUserOutcome](repeating: .done, count: operations.count)
        var start = 0
        while start < operations.count {
            var end = start + 1
            if let kind = operations[start].groupKind {
                while end < operations.count, operations[end].groupKind == kind { end += 1 }
            }
            let group = Array(operations[start..<end])
            let results = try await runGroup(group, on: connection)
            for (offset, outcome) in results.enumerated() { outcomes[start + offset] = outcome }
            start = end
        }
        return outcomes
    }

    private func runGroup(_ group: [PostgresUserOperation], on connection: PostgresConnection) async throws -> [PostgresUserOutcome] {
        switch group[0] {
        case .upsertUser:
            let rows = group.compactMap { operation -> (String, HashDigest)? in
                guard case .upsertUser(let id, let digest) = operation else { return nil }
                return (id, digest)
            }
            try await connection.query(statements.upsertUsers(PostgresUserStatements.deduplicated(rows)), logger: logger)
            return group.map { _ in .done }
        case .deleteUsers:
            let requests = group.map { operation -> [String] in
                guard case .deleteUsers(let ids) = operation else { return [] }
                return ids
            }
            let all = Array(Set(requests.joined()))
            try await connection.query(statements.deleteQueues(of: all), logger: logger)
            var removed = Set<String>()
            for try await id in try await connection.query(statements.deleteUsers(all), logger: logger).decode(String.self) {
                removed.insert(id)
            }
            return requests.map { ids in .removed(ids.filter { removed.remove($0) != nil }) }
        case .insertMessages:
            var messages: [QueuedMessage] = []
            var trim: [String: Int] = [:]
            for case .insertMessages(let more, let maxPerUser) in group {
                messages += more
                if maxPerUser > 0 { for message in more { trim[message.userID] = maxPerUser } }
            }
            try await connection.query(statements.insertMessages(messages), logger: logger)
            var dropped = 0
            // one statement per distinct limit (normally one: the configured users.offlineQueue.max)
            for (limit, users) in Dictionary(grouping: trim.keys, by: { trim[$0] ?? 0 }) {
                dropped += try await count(statements.trimQueues(of: Array(users), maxPerUser: limit), on: connection)
            }
            return group.enumerated().map { $0.offset == 0 ? .trimmed(dropped) : .trimmed(0) }
        case .claim:
            let ids = group.map { operation -> String in
                guard case .claim(let id) = operation else { return "" }
                return id
            }
            // a claim is an auth (or a recovered connection): the user is active, no node expires it now
            try await connection.query(statements.touchUsers(Array(Set(ids))), logger: logger)
            var rows: [QueuedMessage] = []
            let result = try await connection.query(statements.claimQueues(of: Array(Set(ids))), logger: logger)
            for try await (sequence, userID, enqueuedAt, message) in result.decode((Int64, String, Int64, String).self) {
                rows.append(QueuedMessage(sequence: sequence, userID: userID, enqueuedAt: enqueuedAt, message: message))
            }
            var byUser = PostgresUserStatements.grouped(rows)
            // the same user twice in one batch: the first claim gets the messages
            return ids.map { .claimed(byUser.removeValue(forKey: $0) ?? []) }
        case .lookup:
            let ids = group.map { operation -> String in
                guard case .lookup(let id) = operation else { return "" }
                return id
            }
            var found: [String: HashDigest] = [:]
            let result = try await connection.query(statements.selectUsers(Array(Set(ids))), logger: logger)
            for try await (id, digest) in result.decode((String, ByteBuffer).self) {
                found[id] = PostgresUserStatements.digest(digest)
            }
            return ids.map { .found(found[$0]) }
        case .expireIdle(let candidates, let connected, let milliseconds):
            if !connected.isEmpty { try await connection.query(statements.touchUsers(connected), logger: logger) }
            guard !candidates.isEmpty else { return [.removed([])] }
            var deleted: [String] = []
            let result = try await connection.query(statements.deleteIdleUsers(candidates, milliseconds: milliseconds), logger: logger)
            for try await id in result.decode(String.self) { deleted.append(id) }
            if !deleted.isEmpty { try await connection.query(statements.deleteQueues(of: deleted), logger: logger) }
            var present = Set<String>()
            for try await (id, _) in try await connection.query(statements.selectUsers(candidates), logger: logger).decode((String, ByteBuffer).self) {
                present.insert(id)
            }
            return [.removed(candidates.filter { !present.contains($0) })]
        case .sweep(let cutoff, let maxBytes):
            var expired = 0
            if let cutoff { expired = try await count(statements.expireMessages(before: cutoff), on: connection) }
            let dropped = try await count(statements.trimBytes(to: maxBytes), on: connection)
            try await connection.query(statements.deleteOrphans(), logger: logger)
            var totals = (messages: 0, bytes: 0)
            for try await (messages, bytes) in try await connection.query(statements.queueTotals(), logger: logger).decode((Int64, Int64).self) {
                totals = (Int(messages), Int(bytes))
            }
            return [.swept(expired: expired, dropped: dropped, messages: totals.messages, bytes: totals.bytes)]
        }
    }

    private func count(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> Int {
        var total = 0
        for try await value in try await connection.query(query, logger: logger).decode(Int64.self) { total = Int(value) }
        return total
    }
}
