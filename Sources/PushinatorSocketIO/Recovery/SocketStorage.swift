import EngineIO
import PushinatorJSON

/// The typed values of a socket (``Socket/subscript(_:)``), carried as they are.
public struct SocketStorage: Sendable {
    var values: [ObjectIdentifier: any Sendable]

    /// No values.
    public static var empty: Self { .init(values: [:]) }

    /// The value kept under `key`, as ``Socket/subscript(_:)`` had it.
    public subscript<Key: SocketStorageKey>(key: Key.Type) -> Key.Value? {
        values[ObjectIdentifier(key)] as? Key.Value
    }
}
