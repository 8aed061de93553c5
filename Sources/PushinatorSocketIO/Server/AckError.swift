import EngineIO
import Logging
import NIOCore
import PushinatorJSON
import Synchronization

/// Why ``Socket/emitWithAck(_:_:timeout:)`` got no answer.
public enum AckError: Error, Sendable, Equatable {
    /// The client did not answer in time.
    case timeout
    /// The socket disconnected before answering.
    case disconnected
}
