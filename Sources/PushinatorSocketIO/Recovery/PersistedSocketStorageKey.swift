/// A ``SocketStorageKey`` whose value a ``CrossNodeSessionStore`` keeps with the session, under a stable name, so
/// that a socket restored on another node has it back (other keys stay in their process).
///
/// ```swift
/// enum UserID: PersistedSocketStorageKey { static let persistedName = "user" }
/// ```
public protocol PersistedSocketStorageKey: SocketStorageKey, SendableMetatype where Value == String {
    /// The name it is kept under.
    static var persistedName: String { get }
}

extension SocketStorage {
    /// The values of `keys` this storage holds, by name.
    public func persisted(_ keys: [any PersistedSocketStorageKey.Type]) -> [String: String] {
        var result: [String: String] = [:]
        for key in keys {
            if let value = values[ObjectIdentifier(key)] as? String { result[key.persistedName] = value }
        }
        return result
    }

    /// A storage with the values of `keys` found in `persisted`.
    public init(persisted: [String: String], keys: [any PersistedSocketStorageKey.Type]) {
        var values: [ObjectIdentifier: any Sendable] = [:]
        for key in keys {
            if let value = persisted[key.persistedName] { values[ObjectIdentifier(key)] = value }
        }
        self.init(values: values)
    }
}
