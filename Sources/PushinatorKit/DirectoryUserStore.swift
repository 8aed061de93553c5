/// A ``UserStore`` that holds its users in memory in a ``UserDirectory`` behind a lock, as ``MemoryUserStore`` and
/// `SQLiteUserStore` do: the read side (``verify(_:digest:)``, ``contains(_:)``, ``userIDs``, ``count``) is the same
/// for all of them and comes from this protocol's extension.
///
/// ```swift
/// final class MyStore: DirectoryUserStore {
///     private let directory = Mutex(UserDirectory())
///     func readDirectory<Result: Sendable>(_ body: (UserDirectory) -> Result) -> Result {
///         directory.withLock { body($0) }
///     }
///     // the writes: register, unregister, enqueue, take ...
/// }
/// ```
public protocol DirectoryUserStore: UserStore {
    /// Runs `body` with the directory under the store's lock; keep `body` short (no hashing, no I/O).
    /// - Parameter body: reads what it needs from the directory.
    /// - Returns: what `body` returns.
    func readDirectory<Result: Sendable>(_ body: (UserDirectory) -> Result) -> Result
}

extension DirectoryUserStore {
    /// Whether `digest` is the digest of `userID`'s registered hash (compared in constant time, outside the lock).
    public func verify(_ userID: String, digest: HashDigest) -> Bool {
        readDirectory({ $0.digests[userID] })?.matches(digest) ?? false
    }

    /// Whether `userID` is registered.
    public func contains(_ userID: String) -> Bool { readDirectory { $0.digests[userID] != nil } }

    /// The registered user ids, sorted.
    public var userIDs: [String] { readDirectory { $0.digests.keys.sorted() } }

    /// The number of registered users.
    public var count: Int { readDirectory { $0.digests.count } }
}
