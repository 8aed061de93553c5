import EngineIO
import Logging
import NIOCore
import PushinatorJSON
import Synchronization

/// A key for a typed value kept with a ``Socket``.
public protocol SocketStorageKey {
    /// The type of the value.
    associatedtype Value: Sendable
}
