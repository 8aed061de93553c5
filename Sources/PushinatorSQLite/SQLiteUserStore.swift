public import Logging
public import PushinatorKit
import SQLiteNIO
import Synchronization

/// A ``UserStore`` in an SQLite file (WAL mode): users and offline queues survive a restart or a `kill -9`.
///
/// Everything is read into memory at open (auth never waits for the disk); writes go through a batching writer
/// that commits whatever is pending in one transaction, and return once committed. The file holds SHA-256
/// digests of the hashes, never the hashes.
public final class SQLiteUserStore: DirectoryUserStore {
    private let connection: SQLiteConnection
    private let directory: Mutex<UserDirectory>
    private let writer: SQLiteBatchWriter
    private let logger: Logger
    /// The file this store writes.
    public let path: String

    private init(path: String, connection: SQLiteConnection, directory: UserDirectory, logger: Logger) {
        self.path = path
        self.connection = connection
        self.directory = Mutex(directory)
        self.writer = SQLiteBatchWriter(connection: connection, logger: logger)
        self.logger = logger
    }

    /// Opens (or creates) the store at `path` and reads it into memory.
    ///
    /// - Parameters:
    ///   - path: the database file; its folder must exist.
    ///   - queueLimits: the offline queue's limits; queued messages over them or older than the ttl are deleted.
    ///   - busyTimeoutMilliseconds: how long a write waits for a lock another process holds before failing.
    ///   - now: the wall clock in ms since 1970, for the ttl of queued messages.
    /// - Throws: ``UserStoreError`` when the file cannot be opened, is not a database, is read-only or locked.
    public static func open(
        path: String,
        queueLimits: OfflineQueue.Limits = .init(),
        busyTimeoutMilliseconds: Int = 2_000,
        logger: Logger,
        now: Int64 = WallClock.milliseconds()
    ) async throws(UserStoreError) -> SQLiteUserStore {
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw UserStoreError("cannot open the user store \(path): \(Self.reason(error))")
        }
        do {
            // Replaces sqlite-nio's busy handler, which waits forever for a lock.
            try await connection.run("PRAGMA busy_timeout = \(max(0, busyTimeoutMilliseconds))")
            let mode = try await connection.query("PRAGMA journal_mode = WAL", [])
            guard mode.first?.columns.first?.data.string?.lowercased() == "wal" else {
                throw UserStoreError("cannot switch to WAL mode")
            }
            try await connection.run("PRAGMA synchronous = FULL")
            // Creating the tables and stamping the schema version is a write: a read-only or locked file fails here.
            try await connection.run("BEGIN IMMEDIATE")
            try await connection.run(
                "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY NOT NULL, digest BLOB NOT NULL) WITHOUT ROWID")
            try await connection.run(
                "CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY, user_id TEXT NOT NULL, "
                    + "enqueued_at INTEGER NOT NULL, message TEXT NOT NULL)")
            try await connection.run("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT)")
            try await connection.run("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', '1')")
            try await connection.run("COMMIT")
            let directory = try await load(connection, queueLimits: queueLimits, now: now)
            let store = SQLiteUserStore(path: path, connection: connection, directory: directory.directory, logger: logger)
            if !directory.stale.isEmpty { try await store.writer.submit([.deleteMessages(directory.stale)]).wait() }
            logger.info(
                "user store opened",
                metadata: [
                    "store.path": "\(path)", "store.users": "\(directory.directory.digests.count)",
                    "store.queued": "\(directory.directory.queue.statistics.messages)",
                ]
            )
            return store
        } catch {
            _ = try? await connection.run("ROLLBACK")
            try? await connection.close()
            throw UserStoreError("cannot open the user store \(path): \(Self.reason(error))")
        }
    }

    /// Reads users and queued messages; returns them with the sequence numbers of messages to delete.
    private static func load(
        _ connection: SQLiteConnection,
        queueLimits: OfflineQueue.Limits,
        now: Int64
    ) async throws -> (directory: UserDirectory, stale: [Int64]) {
        let users = Mutex<[(String, HashDigest)]>([])
        try await connection.query("SELECT id, digest FROM users", []) { row in
            let columns = row.columns
            guard columns.count == 2, let id = columns[0].data.string, var blob = columns[1].data.blob,
                let bytes = blob.readBytes(length: blob.readableBytes), let digest = HashDigest(bytes: bytes)
            else { return }
            users.withLock { $0.append((id, digest)) }
        }
        let messages = Mutex<[QueuedMessage]>([])
        try await connection.query("SELECT seq, user_id, enqueued_at, message FROM queue", []) { row in
            let columns = row.columns
            guard columns.count == 4, let sequence = columns[0].data.integer, let userID = columns[1].data.string,
                let enqueuedAt = columns[2].data.integer, let message = columns[3].data.string
            else { return }
            messages.withLock {
                $0.append(QueuedMessage(sequence: Int64(sequence), userID: userID, enqueuedAt: Int64(enqueuedAt), message: message))
            }
        }
        var directory = UserDirectory(queueLimits: queueLimits)
        directory.reserveUsers(users.withLock { $0.count })
        for (id, digest) in users.withLock({ $0 }) { directory.register(id, digest: digest) }
        let all = messages.withLock { $0 }
        let orphans = all.filter { directory.digests[$0.userID] == nil }.map(\.sequence)
        let stale = directory.queue.restore(all.filter { directory.digests[$0.userID] != nil }, now: now)
        return (directory, orphans + stale)
    }

    /// A sentence for the common failures, with SQLite's own words after it.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? SQLiteError else { return "\(error)" }
        let clear: String
        switch error.reason {
        case .cantOpen: clear = "cannot open the file (its folder must exist and be writable by this user)"
        case .readOnly, .permission, .auth: clear = "the file is read-only for this user"
        case .busy, .locked: clear = "the database is locked by another process"
        case .notADatabase: clear = "the file is not an SQLite database"
        case .corrupt: clear = "the database file is corrupt"
        case .full: clear = "the disk is full"
        case .ioError: clear = "an I/O error"
        default: return "\(error)"
        }
        return "\(clear) (sqlite: \(error.message))"
    }

    // MARK: UserStore

    /// Runs `body` with the users in memory, under the lock (the read side comes from ``DirectoryUserStore``).
    public func readDirectory<Result: Sendable>(_ body: (UserDirectory) -> Result) -> Result {
        directory.withLock { body($0) }
    }

    public func register(_ userID: String, digest: HashDigest) async throws(UserStoreError) {
        try await writer.submit([.upsertUser(userID, digest)]) { [self] committed in
            if committed { self.directory.withLock { $0.register(userID, digest: digest) } }
        }.wait()
    }

    public func unregister(_ userIDs: [String]) async throws(UserStoreError) -> [String] {
        let removed = Mutex<[String]>([])
        try await writer.submit([.deleteUsers(userIDs)]) { [self] committed in
            if committed { removed.withLock { $0 = self.directory.withLock { $0.unregister(userIDs).removed } } }
        }.wait()
        return removed.withLock { $0 }
    }

    public func enqueue(_ message: String, for userIDs: [String], now: Int64) -> QueueWrite {
        // In memory at once and submitted under the same lock, so the writer sees queue changes in their order.
        let (queued, completion) = directory.withLock { directory -> ([QueuedMessage], WriteCompletion?) in
            let (queued, removed) = directory.enqueue(message, for: userIDs, now: now)
            guard !queued.isEmpty || !removed.isEmpty else { return (queued, nil) }
            let completion = writer.submit([.insertMessages(queued), .deleteMessages(removed)]) { [self] committed in
                guard !committed else { return }
                self.directory.withLock { directory in
                    for message in queued { directory.queue.remove(sequence: message.sequence, of: message.userID) }
                }
            }
            return (queued, completion)
        }
        guard let completion else { return QueueWrite(userIDs: queued.map(\.userID)) }
        return QueueWrite(userIDs: queued.map(\.userID), completion: completion)
    }

    public func take(for userID: String, now: Int64) -> [QueuedMessage] {
        directory.withLock { directory in
            let (messages, removed) = directory.queue.take(for: userID, now: now)
            // Deleted after delivery: a crash in between delivers them again (at least once, never lost).
            if !removed.isEmpty { writer.submit([.deleteMessages(removed)]) }
            return messages
        }
    }

    public func expireQueued(now: Int64) {
        directory.withLock { directory in
            let removed = directory.queue.expire(now: now)
            if !removed.isEmpty { writer.submit([.deleteMessages(removed)]) }
        }
    }

    public var queueStatistics: OfflineQueue.Statistics { directory.withLock { $0.queue.statistics } }

    public func setQueueLimits(_ limits: OfflineQueue.Limits) { directory.withLock { $0.queue.limits = limits } }

    public func close() async {
        await writer.flush()
        do {
            try await connection.close()
        } catch {
            logger.warning("user store close failed", metadata: ["error.message": "\(error)"])
        }
    }
}
