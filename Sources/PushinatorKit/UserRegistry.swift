import Synchronization

/// The users a backend registered, kept in a ``UserStore``, and how many connections each has now.
///
/// Users stay registered until ``unregister(_:)`` or, when an idle timeout is configured, until they had no
/// connection for that long (node pushinator forgot them as soon as their last tab closed, which broke
/// reconnecting clients). Connection counts live in memory only: after a restart every user is idle since
/// the start.
public final class UserRegistry: Sendable {
    private struct Presence {
        var connections: Int
        var idleSince: ContinuousClock.Instant?
    }

    /// Where registrations and offline queues are kept.
    public let store: any UserStore
    private let presence = Mutex<[String: Presence]>([:])
    private let createdAt = ContinuousClock.now

    /// Creates a registry over `store` (in memory by default).
    public init(store: any UserStore = MemoryUserStore()) {
        self.store = store
    }

    /// The longest user id accepted, in UTF-8 bytes: `/user/register` answers 400 above it, `auth` refuses.
    public static let maximumUserIDLength = 256
    /// The longest hash accepted, in UTF-8 bytes: `/user/register` answers 400 above it, `auth` refuses.
    public static let maximumHashLength = 256

    /// What ``register(_:hash:)`` changed.
    public enum Registration: Sendable, Equatable {
        /// The user was not registered.
        case added
        /// The user was registered with the same hash.
        case unchanged
        /// The user was registered with another hash: sockets that authenticated with it must go.
        case rotated
    }

    /// Registers `userID` with `hash`, replacing an earlier hash; returns once the store has it.
    @discardableResult
    public func register(_ userID: String, hash: String) async throws(UserStoreError) -> Registration {
        let registration: Registration =
            !store.contains(userID) ? .added : store.verify(userID, hash: hash) ? .unchanged : .rotated
        if registration != .unchanged { try await store.register(userID, hash: hash) }
        presence.withLock { presence in
            if presence[userID] == nil { presence[userID] = Presence(connections: 0, idleSince: .now) }
        }
        return registration
    }

    /// Registers `userID` with a digest another node of the cluster registered it with.
    /// On a shared store the registration is stored already: only the memory follows.
    public func registerReplica(_ userID: String, digest: HashDigest) async throws(UserStoreError) {
        if store.isShared {
            store.cacheRegistration(userID, digest: digest)
        } else {
            try await store.register(userID, digest: digest)
        }
        presence.withLock { presence in
            if presence[userID] == nil { presence[userID] = Presence(connections: 0, idleSince: .now) }
        }
    }

    /// Forgets `userID` and its queued messages. Returns whether it was registered.
    @discardableResult
    public func unregister(_ userID: String) async throws(UserStoreError) -> Bool {
        let removed = try await store.unregister(userID)
        presence.withLock { _ = $0.removeValue(forKey: userID) }
        return removed
    }

    /// Forgets `userID`, which another node of the cluster unregistered (on a shared store: in memory only).
    public func unregisterReplica(_ userID: String) async throws(UserStoreError) {
        if store.isShared {
            store.cacheUnregistration([userID])
        } else {
            _ = try await store.unregister(userID)
        }
        presence.withLock { _ = $0.removeValue(forKey: userID) }
    }

    /// Whether `hash` is the registered hash of `userID`, compared (as digests) in constant time.
    public func verify(_ userID: String, hash: String) -> Bool { store.verify(userID, hash: hash) }

    /// Whether `digest` is the digest of `userID`'s registered hash, compared in constant time (`auth` computes
    /// the digest of the hash it was given once, and checks it again under the delivery lock).
    public func verify(_ userID: String, digest: HashDigest) -> Bool { store.verify(userID, digest: digest) }

    /// Whether `userID` is registered.
    public func contains(_ userID: String) -> Bool { store.contains(userID) }

    /// The registered user ids, sorted.
    public var userIDs: [String] { store.userIDs }

    /// The number of registered users with at least one authenticated connection.
    public var connectedCount: Int { presence.withLock { $0.values.reduce(0) { $0 + ($1.connections > 0 ? 1 : 0) } } }

    /// The number of registered users.
    public var count: Int { store.count }

    /// Whether `userID` has an authenticated connection now.
    public func isConnected(_ userID: String) -> Bool {
        presence.withLock { ($0[userID]?.connections ?? 0) > 0 }
    }

    /// Records a new authenticated connection of `userID`.
    public func connectionOpened(_ userID: String) {
        presence.withLock { presence in
            Self.opened(&presence[userID, default: Presence(connections: 0, idleSince: nil)])  // one lookup
        }
    }

    private static func opened(_ user: inout Presence) {
        user.connections += 1
        user.idleSince = nil
    }

    /// Records that a connection of `userID` closed.
    public func connectionClosed(_ userID: String) {
        presence.withLock { presence in
            guard var user = presence[userID] else { return }
            user.connections = max(0, user.connections - 1)
            if user.connections == 0 { user.idleSince = .now }
            presence[userID] = user
        }
    }

    /// Forgets users that had no connection for `timeout` (users never seen since the start count from the
    /// start); returns their ids. A store write that fails leaves them registered (and is retried next time).
    @discardableResult
    public func expireIdle(after timeout: Duration, now: ContinuousClock.Instant = .now) async throws(UserStoreError) -> [String] {
        let ids = store.userIDs
        let (candidates, connected) = presence.withLock { presence in
            let candidates = ids.filter { id in
                guard let user = presence[id] else { return now - createdAt >= timeout }
                return user.connections == 0 && user.idleSince.map { now - $0 >= timeout } == true
            }
            return (candidates, store.isShared ? presence.filter { $0.value.connections > 0 }.map(\.key) : [])
        }
        // a shared store also hears of the users connected here, so that no other node expires them
        guard !candidates.isEmpty || !connected.isEmpty else { return [] }
        let expired = try await store.expireIdle(candidates, connected: connected, timeout: timeout)
        presence.withLock { presence in
            for id in expired where (presence[id]?.connections ?? 0) == 0 { presence[id] = nil }
        }
        return expired
    }

    /// Compares without stopping at the first difference, so timing does not reveal how much of a guess matched.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        HashDigest.constantTimeEquals(lhs, rhs)
    }
}
