import EngineIO
import PushinatorJSON

/// What ``SocketIOAdapter/broadcastCounting(_:to:flags:)`` found out.
public struct BroadcastCount: Sendable, Equatable {
    /// The sockets the event was handed to, on every server that answered.
    public var delivered: Int
    /// The rooms of the target that had at least one socket on a server that answered.
    public var reachedRooms: Set<String>
    /// How many other servers did not answer in time (their sockets may have got the event all the same).
    public var missingServers: Int
    /// Whether the event could not be handed to the other servers at all (their bus was unreachable past the
    /// retry deadline); only this server's sockets got it.
    public var notPublished: Bool

    /// Creates a result.
    public init(delivered: Int, reachedRooms: Set<String> = [], missingServers: Int = 0, notPublished: Bool = false) {
        self.delivered = delivered
        self.reachedRooms = reachedRooms
        self.missingServers = missingServers
        self.notPublished = notPublished
    }

    /// Whether every server answered.
    public var isComplete: Bool { missingServers == 0 && !notPublished }
}
