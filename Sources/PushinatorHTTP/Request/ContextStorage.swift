/// A key for a typed value in ``ContextStorage``.
///
/// ```swift
/// enum CurrentUser: ContextStorageKey { typealias Value = User }
/// context.storage[CurrentUser.self] = user
/// ```
public protocol ContextStorageKey {
    /// The type of the stored value.
    associatedtype Value: Sendable
}

/// Typed values that middleware attach to a request context.
public struct ContextStorage: Sendable {
    private var values: [ObjectIdentifier: any Sendable] = [:]

    /// Creates empty storage.
    public init() {}

    /// The value stored for `key`.
    public subscript<Key: ContextStorageKey>(key: Key.Type) -> Key.Value? {
        get { values[ObjectIdentifier(key)] as? Key.Value }
        set { values[ObjectIdentifier(key)] = newValue }
    }
}
