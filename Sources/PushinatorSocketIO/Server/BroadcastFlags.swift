import EngineIO
import PushinatorJSON

/// How a broadcast is sent.
public struct BroadcastFlags: Sendable, Hashable {
    /// The event may be lost: it is not buffered for connection state recovery and carries no offset.
    public var volatile: Bool
    /// Only this process's sockets (a cluster adapter does not forward it).
    public var local: Bool

    /// Creates flags, all off by default.
    public init(volatile: Bool = false, local: Bool = false) {
        self.volatile = volatile
        self.local = local
    }
}
