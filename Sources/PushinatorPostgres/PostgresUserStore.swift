public import Logging
import NIOCore
import PostgresNIO
public import PushinatorKit
import Synchronization

/// A ``UserStore`` in PostgreSQL shared by every node of a cluster (`users.store: 'postgres'`): registrations and
/// offline queues live in the database, so every node accepts every user's `auth`, a node started later included,
/// and a queued message is delivered once across the cluster.
///
/// - Registrations (SHA-256 digests, never the hashes) are read into memory at open; `auth` reads memory. The
///   cluster's registration messages keep it fresh (``cacheRegistration(_:digest:)``); a user not in memory is read
///   from the database (``reload(_:)``).
/// - Writes go through one connection in batched transactions (array statements), and return once committed; a
///   failure throws ``UserStoreError`` (the admin call answers 503) and leaves the database as it was.
/// - The queue is in the database only: ``claim(for:now:)`` takes a user's messages with `DELETE ... RETURNING`, so
///   of two nodes taking one queue at once each message goes to one of them. Limits: `max` per user at each write,
///   the ttl at ``claim(for:now:)`` and in the sweep, `maxBytes` over every node's messages in the sweep (every 5 s).
///
/// ```swift
/// let store = try await PostgresUserStore.open(url: try PostgresURL("postgres://push@db/push"), logger: logger)
/// let app = PushApp(configuration: settings, io: io, users: UserRegistry(store: store), cluster: cluster)
/// ```
public final class PostgresUserStore: UserStore {
    private struct Cache {
        var digests: [String: HashDigest] = [:]
        var limits: OfflineQueue.Limits
        var messages = 0
        var bytes = 0
        var dropped = 0
        var expired = 0
        var sweeping = false
    }

    private let cache: Mutex<Cache>
    private let writer: PostgresUserWriter
    private let logger: Logger
    /// The database, without its password.
    public let address: String

    private init(address: String, writer: PostgresUserWriter, digests: [String: HashDigest], limits: OfflineQueue.Limits, logger: Logger) {
        self.address = address
        self.writer = writer
        self.logger = logger
        var cache = Cache(limits: limits)
        cache.digests = digests
        self.cache = Mutex(cache)
    }

    /// Connects, creates or migrates the tables, and reads the registrations into memory.
    ///
    /// - Parameters:
    ///   - url: The database (the cluster's, or one of the store's own).
    ///   - schema: The table names.
    ///   - queueLimits: The offline queue's limits.
    ///   - timeout: The longest a connection attempt or a write transaction may take before it fails.
    /// - Throws: ``UserStoreError`` (`cannot open the user store postgres://user@host:port/db: …`, no password).
    public static func open(
        url: PostgresURL,
        schema: PostgresUserSchema = .init(),
        queueLimits: OfflineQueue.Limits = .init(),
        timeout: Duration = .seconds(10),
        logger: Logger
    ) async throws(UserStoreError) -> PostgresUserStore {
        let address = "\(url)"
        try schema.validate()
        var configuration: PostgresConnection.Configuration
        do {
            configuration = try url.connectionConfiguration()
        } catch {
            throw UserStoreError("cannot open the user store \(address): \(reason(error))")
        }
        configuration.options.connectTimeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        let statements = PostgresUserStatements(schema: schema)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
        } catch {
            throw UserStoreError("cannot open the user store \(address): \(reason(error))")
        }
        do {
            try await schema.prepare(on: connection, logger: logger)
            let digests = try await loadUsers(on: connection, statements: statements, logger: logger)
            let writer = PostgresUserWriter(
                statements: statements,
                configuration: configuration,
                address: address,
                connection: connection,
                timeout: timeout,
                logger: logger
            )
            let store = PostgresUserStore(address: address, writer: writer, digests: digests, limits: queueLimits, logger: logger)
            try await store.sweep(now: WallClock.milliseconds())
            logger.info(
                "user store opened",
                metadata: ["store.url": "\(address)", "store.users": "\(digests.count)", "store.queued": "\(store.queueStatistics.messages)"]
            )
            return store
        } catch {
            try? await connection.close()
            throw UserStoreError("cannot open the user store \(address): \(reason(error))")
        }
    }

    /// Every registration, a page at a time.
    static func loadUsers(on connection: PostgresConnection, statements: PostgresUserStatements, logger: Logger)
        async throws -> [String: HashDigest]
    {
        var digests: [String: HashDigest] = [:]
        var lastID: String?
        while true {
            var page: (count: Int64, last: String?, packed: ByteBuffer) = (0, nil, ByteBuffer())
            let rows = try await connection.query(statements.loadUsers(after: lastID), logger: logger)
            for try await row in rows.decode((Int64, String?, ByteBuffer).self) { page = row }
            guard let users = PostgresUserStatements.unpackUsers(page.packed) else {
                throw UserStoreError("the users table returned a page that cannot be read")
            }
            digests.reserveCapacity(digests.count + users.count)
            for (id, digest) in users { digests[id] = digest }
            guard page.count >= statements.loadPageSize, let last = page.last else { return digests }
            lastID = last
        }
    }

    /// The sentence for a database error: PostgreSQL's own message when it sent one.
    static func reason(_ error: any Error) -> String {
        if let error = error as? UserStoreError { return error.message }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    // MARK: Reading (memory)

    public var isShared: Bool { true }

    public func verify(_ userID: String, digest: HashDigest) -> Bool {
        cache.withLock({ $0.digests[userID] })?.matches(digest) ?? false
    }

    public func contains(_ userID: String) -> Bool { cache.withLock { $0.digests[userID] != nil } }

    public var userIDs: [String] { cache.withLock { $0.digests.keys.sorted() } }

    public var count: Int { cache.withLock { $0.digests.count } }

    public func reload(_ userID: String) async -> Bool {
        do throws(UserStoreError) {
            guard case .found(let digest) = try await writer.run(.lookup(userID)) else { return false }
            cache.withLock { $0.digests[userID] = digest }
            return digest != nil
        } catch {
            logger.warning("user store read failed", metadata: ["push.user": "\(userID)", "error.message": "\(error.message)"])
            return false
        }
    }

    public func cacheRegistration(_ userID: String, digest: HashDigest) {
        cache.withLock { $0.digests[userID] = digest }
    }

    public func cacheUnregistration(_ userIDs: [String]) {
        cache.withLock { cache in for id in userIDs { cache.digests[id] = nil } }
    }

    // MARK: Writing (PostgreSQL)

    public func register(_ userID: String, digest: HashDigest) async throws(UserStoreError) {
        _ = try await writer.run(.upsertUser(userID, digest))
        cache.withLock { $0.digests[userID] = digest }
    }

    public func unregister(_ userIDs: [String]) async throws(UserStoreError) -> [String] {
        guard !userIDs.isEmpty else { return [] }
        let outcome = try await writer.run(.deleteUsers(userIDs))
        cacheUnregistration(userIDs)  // memory follows the database, also where it was stale
        guard case .removed(let removed) = outcome else { return [] }
        return removed
    }

    public func expireIdle(_ candidates: [String], connected: [String], timeout: Duration) async throws(UserStoreError) -> [String] {
        let milliseconds = timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000
        let outcome = try await writer.run(.expireIdle(candidates: candidates, connected: connected, milliseconds: milliseconds))
        guard case .removed(let gone) = outcome else { return [] }
        cacheUnregistration(gone)
        return gone
    }

    public func enqueue(_ message: String, for userIDs: [String], now: Int64) -> QueueWrite {
        let (queued, limits) = cache.withLock { cache -> ([QueuedMessage], OfflineQueue.Limits) in
            guard cache.limits.maxPerUser > 0 else { return ([], cache.limits) }
            var seen = Set<String>()
            let users = userIDs.filter { cache.digests[$0] != nil && seen.insert($0).inserted }
            guard message.utf8.count <= cache.limits.maxBytes else {
                cache.dropped += users.count
                return ([], cache.limits)
            }
            // the database numbers them; the sequence here is unused
            return (users.map { QueuedMessage(sequence: 0, userID: $0, enqueuedAt: now, message: message) }, cache.limits)
        }
        guard !queued.isEmpty else { return QueueWrite(userIDs: []) }
        let completion = WriteCompletion()
        let size = message.utf8.count
        writer.submit(.insertMessages(queued, maxPerUser: limits.maxPerUser)) { [self] result in
            switch result {
            case .success(let outcome):
                cache.withLock { cache in
                    cache.messages += queued.count
                    cache.bytes += size * queued.count
                    if case .trimmed(let dropped) = outcome {
                        cache.dropped += dropped
                        cache.messages = max(0, cache.messages - dropped)
                    }
                }
                completion.succeed()
            case .failure(let error):
                completion.fail(error)
            }
        }
        return QueueWrite(userIDs: queued.map(\.userID), completion: completion)
    }

    public func claim(for userID: String, now: Int64) async throws(UserStoreError) -> [QueuedMessage] {
        guard case .claimed(let messages) = try await writer.run(.claim(userID)) else { return [] }
        return cache.withLock { cache in
            let ttl = cache.limits.ttlMilliseconds
            let live = messages.filter { ttl <= 0 || now - $0.enqueuedAt < ttl }
            cache.expired += messages.count - live.count
            cache.messages = max(0, cache.messages - messages.count)
            cache.bytes = max(0, cache.bytes - messages.reduce(0) { $0 + $1.byteCount })
            return live
        }
    }

    /// Deletes `userID`'s queue without returning it (the store is remote: ``claim(for:now:)`` returns the messages).
    /// pushinator calls it for a recovered connection, whose replay had the queued messages.
    public func take(for userID: String, now: Int64) -> [QueuedMessage] {
        writer.submit(.claim(userID)) { _ in }
        return []
    }

    /// Starts a sweep of the queue (expired messages, the byte limit, the counts), unless one is running.
    public func expireQueued(now: Int64) {
        guard cache.withLock({ cache in
            defer { cache.sweeping = true }
            return !cache.sweeping
        }) else { return }
        Task {
            do throws(UserStoreError) {
                try await sweep(now: now)
            } catch {
                logger.warning("offline queue sweep failed", metadata: ["error.message": "\(error.message)"])
            }
            cache.withLock { $0.sweeping = false }
        }
    }

    private func sweep(now: Int64) async throws(UserStoreError) {
        let limits = cache.withLock { $0.limits }
        let cutoff = limits.ttlMilliseconds > 0 ? now - limits.ttlMilliseconds : nil
        guard case .swept(let expired, let dropped, let messages, let bytes) = try await writer.run(.sweep(cutoff: cutoff, maxBytes: limits.maxBytes))
        else { return }
        cache.withLock { cache in
            cache.expired += expired
            cache.dropped += dropped
            cache.messages = messages
            cache.bytes = bytes
        }
    }

    /// Messages and bytes over every node (as of the last sweep and this node's writes since); `dropped` and
    /// `expired` count what this node removed.
    public var queueStatistics: OfflineQueue.Statistics {
        cache.withLock { OfflineQueue.Statistics(messages: $0.messages, bytes: $0.bytes, dropped: $0.dropped, expired: $0.expired) }
    }

    public func setQueueLimits(_ limits: OfflineQueue.Limits) { cache.withLock { $0.limits = limits } }

    public func close() async {
        await writer.flush()
        await writer.close()
    }
}
