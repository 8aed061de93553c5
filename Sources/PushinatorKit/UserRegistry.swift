import Synchronization

/// The users a backend registered with their secret hashes, and how many connections each has.
///
/// Users stay registered until ``unregister(_:)`` or, when an idle timeout is configured, until they had no
/// connection for that long (node pushinator forgot them as soon as their last tab closed, which broke
/// reconnecting clients).
public final class UserRegistry: Sendable {
    private struct User {
        var hash: [UInt8]
        var connections: Int
        var idleSince: ContinuousClock.Instant?
    }

    private let users = Mutex<[String: User]>([:])

    /// Creates an empty registry.
    public init() {}

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

    /// Registers `userID` with `hash`, replacing an earlier hash.
    @discardableResult
    public func register(_ userID: String, hash: String) -> Registration {
        users.withLock { users in
            let bytes = Array(hash.utf8)
            guard let existing = users[userID] else {
                users[userID] = User(hash: bytes, connections: 0, idleSince: .now)
                return .added
            }
            if existing.hash == bytes { return .unchanged }
            users[userID]!.hash = bytes
            return .rotated
        }
    }

    /// Forgets `userID`. Returns whether it was registered.
    @discardableResult
    public func unregister(_ userID: String) -> Bool {
        users.withLock { $0.removeValue(forKey: userID) != nil }
    }

    /// Whether `hash` is the registered hash of `userID`, compared in constant time.
    public func verify(_ userID: String, hash: String) -> Bool {
        guard let expected = users.withLock({ $0[userID]?.hash }) else { return false }
        return Self.constantTimeEquals(expected, Array(hash.utf8))
    }

    /// Whether `userID` is registered.
    public func contains(_ userID: String) -> Bool { users.withLock { $0[userID] != nil } }

    /// The registered user ids, sorted.
    public var userIDs: [String] { users.withLock { $0.keys.sorted() } }

    /// The number of registered users with at least one authenticated connection.
    public var connectedCount: Int { users.withLock { $0.values.reduce(0) { $0 + ($1.connections > 0 ? 1 : 0) } } }

    /// The number of registered users.
    public var count: Int { users.withLock { $0.count } }

    /// Records a new authenticated connection of `userID`.
    public func connectionOpened(_ userID: String) {
        users.withLock { users in
            users[userID]?.connections += 1
            users[userID]?.idleSince = nil
        }
    }

    /// Records that a connection of `userID` closed.
    public func connectionClosed(_ userID: String) {
        users.withLock { users in
            guard var user = users[userID] else { return }
            user.connections = max(0, user.connections - 1)
            if user.connections == 0 { user.idleSince = .now }
            users[userID] = user
        }
    }

    /// Forgets users that had no connection for `timeout`; returns their ids.
    @discardableResult
    public func expireIdle(after timeout: Duration, now: ContinuousClock.Instant = .now) -> [String] {
        users.withLock { users in
            let expired = users.compactMap { id, user in
                user.idleSince.map { now - $0 >= timeout } == true ? id : nil
            }
            for id in expired { users[id] = nil }
            return expired
        }
    }

    /// Compares without stopping at the first difference, so timing does not reveal how much of a guess matched.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0 && lhs.count == rhs.count
    }
}
