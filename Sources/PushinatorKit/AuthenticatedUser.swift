public import PushinatorSocketIO

/// The user a socket authenticated as.
public enum AuthenticatedUser: PersistedSocketStorageKey {
    public typealias Value = String
    public static let persistedName = "pushinator.user"
}

extension PushApp {
    /// The socket values a cluster's recovery sessions keep: the user (never its hash), so that a socket restored
    /// on another node is still authenticated while its user is registered.
    public static var recoveredStorageKeys: [any PersistedSocketStorageKey.Type] { [AuthenticatedUser.self] }
}

/// The digest of the hash a socket authenticated with, kept in the socket's storage (in this process, never shown by
/// `fetchSockets`), so that connection state recovery takes a session back only while the hash still opens its user.
enum AuthenticatedHash: SocketStorageKey { typealias Value = HashDigest }
