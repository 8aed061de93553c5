/// Where pushinator keeps registered users and their offline queues.
///
/// Reads (``verify(_:digest:)``, ``contains(_:)``) answer from memory and never wait. Writes return once what
/// they accepted is durable in the store (for the in-memory store: at once), so an admin call answered 200
/// survives a crash of the process right after; a write that fails throws ``UserStoreError`` and leaves what
/// was stored before untouched.
///
/// ```swift
/// let store: any UserStore = try await SQLiteUserStore.open(path: "/var/lib/pushinator/users.db", logger: logger)
/// try await store.register("5", hash: "xxx1234")
/// store.verify("5", hash: "xxx1234")   // true
/// ```
///
/// Implementations: ``MemoryUserStore`` (node pushinator's behaviour: gone on restart), `SQLiteUserStore`
/// (module `PushinatorSQLite`) and `PostgresUserStore` (module `PushinatorPostgres`, shared by the nodes of a
/// cluster). One generic test suite runs against the first two.
public protocol UserStore: Sendable {
    /// Whether `digest` is the digest of `userID`'s registered hash, compared in constant time (``verify(_:hash:)``
    /// computes it from a hash; `auth` computes it once and checks it again after the store answered).
    func verify(_ userID: String, digest: HashDigest) -> Bool
    /// Whether `userID` is registered.
    func contains(_ userID: String) -> Bool
    /// The registered user ids, sorted.
    var userIDs: [String] { get }
    /// The number of registered users.
    var count: Int { get }

    /// Registers `userID` with the digest of its hash (replacing an earlier one); returns once durable. A cluster
    /// hands registrations to the other nodes as digests, never as hashes.
    func register(_ userID: String, digest: HashDigest) async throws(UserStoreError)
    /// Forgets `userIDs` and their queued messages; returns the ids that were registered, once durable.
    func unregister(_ userIDs: [String]) async throws(UserStoreError) -> [String]

    /// Queues `message` (JSON text) for those of `userIDs` that are registered, at `now` (ms since 1970).
    ///
    /// The messages are in the queue at once (a ``take(for:now:)`` right after sees them); the returned
    /// write completes when they are durable, or fails (and they are taken out again).
    func enqueue(_ message: String, for userIDs: [String], now: Int64) -> QueueWrite
    /// Removes and returns `userID`'s queued messages, oldest first (expired ones are left out).
    func take(for userID: String, now: Int64) -> [QueuedMessage]
    /// Removes the queued messages older than the ttl.
    func expireQueued(now: Int64)
    /// The offline queue's counters.
    var queueStatistics: OfflineQueue.Statistics { get }
    /// Changes the offline queue's limits (for messages queued from now on).
    func setQueueLimits(_ limits: OfflineQueue.Limits)

    /// Finishes pending writes and releases the store.
    func close() async

    /// Whether writes are complete when they return (nothing durable to wait for, as in memory): the admin API
    /// then answers `/user/send` on the event loop without a task. `false` by default.
    var writesCompleteAtOnce: Bool { get }

    // MARK: Stores shared by the nodes of a cluster (`PostgresUserStore`); the defaults suit a store of one node

    /// Whether every node of a cluster reads and writes this same store (PostgreSQL). Then a registration another
    /// node replicates is already stored (only ``cacheRegistration(_:digest:)`` follows it), queues are not handed
    /// over between nodes, and `auth` takes a queue with ``claim(for:now:)``. `false` by default.
    var isShared: Bool { get }

    /// Removes and returns `userID`'s queued messages, oldest first (expired ones left out), once removed from the
    /// store: on a shared store two nodes never both get a message. By default ``take(for:now:)``.
    func claim(for userID: String, now: Int64) async throws(UserStoreError) -> [QueuedMessage]

    /// Reads `userID` from the store into memory (a registration this node has not heard of); returns whether it
    /// is registered. By default ``contains(_:)``: memory is the whole store.
    func reload(_ userID: String) async -> Bool

    /// Records in memory a registration another node stored in this shared store. Nothing by default.
    func cacheRegistration(_ userID: String, digest: HashDigest)

    /// Forgets in memory users another node removed from this shared store. Nothing by default.
    func cacheUnregistration(_ userIDs: [String])

    /// Forgets those of `candidates` (no connection here for `timeout`) that are idle everywhere; returns the ids
    /// forgotten. `connected` are the users with a connection here now. By default ``unregister(_:)`` of the
    /// candidates.
    func expireIdle(_ candidates: [String], connected: [String], timeout: Duration) async throws(UserStoreError) -> [String]
}

extension UserStore {
    /// Whether `hash` is the registered hash of `userID`: its SHA-256 digest (computed for unknown users too, the
    /// same work either way) compared in constant time.
    public func verify(_ userID: String, hash: String) -> Bool { verify(userID, digest: HashDigest(of: hash)) }

    /// Registers `userID` with `hash` (replacing an earlier hash); returns once durable.
    public func register(_ userID: String, hash: String) async throws(UserStoreError) {
        try await register(userID, digest: HashDigest(of: hash))
    }

    public var writesCompleteAtOnce: Bool { false }

    public var isShared: Bool { false }

    public func claim(for userID: String, now: Int64) async throws(UserStoreError) -> [QueuedMessage] {
        take(for: userID, now: now)
    }

    public func reload(_ userID: String) async -> Bool { contains(userID) }

    public func cacheRegistration(_ userID: String, digest: HashDigest) {}

    public func cacheUnregistration(_ userIDs: [String]) {}

    public func expireIdle(_ candidates: [String], connected: [String], timeout: Duration) async throws(UserStoreError) -> [String] {
        try await unregister(candidates)
    }

    /// Forgets `userID`; returns whether it was registered.
    public func unregister(_ userID: String) async throws(UserStoreError) -> Bool {
        try await !unregister([userID]).isEmpty
    }
}
