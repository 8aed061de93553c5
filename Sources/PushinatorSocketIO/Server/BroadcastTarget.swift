import EngineIO
import PushinatorJSON

/// What a broadcast selects: sockets in any of ``rooms`` (every socket when empty) and in none of ``except``.
public struct BroadcastTarget: Sendable, Hashable {
    /// The rooms to reach; empty for the whole namespace.
    public var rooms: Set<String>
    /// The rooms to leave out (a socket id leaves out that socket).
    public var except: Set<String>

    /// Creates a selection.
    public init(rooms: Set<String> = [], except: Set<String> = []) {
        self.rooms = rooms
        self.except = except
    }
}
