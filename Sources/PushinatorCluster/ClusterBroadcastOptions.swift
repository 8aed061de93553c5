/// Which sockets a cluster operation addresses: socket.io's `BroadcastOptions` as `encodeOptions` writes it
/// (`{"rooms": [...], "except": [...], "flags": {...}}`).
public struct ClusterBroadcastOptions: Sendable, Hashable {
    /// The rooms whose sockets are addressed; empty means every socket of the namespace.
    public var rooms: [String]
    /// Sockets in any of these rooms are left out.
    public var except: [String]
    /// The broadcast flags.
    public var flags: ClusterBroadcastFlags

    /// Creates options.
    /// - Parameters:
    ///   - rooms: The rooms addressed (empty: all sockets).
    ///   - except: The rooms left out.
    ///   - flags: The broadcast flags.
    public init(rooms: [String] = [], except: [String] = [], flags: ClusterBroadcastFlags = .init()) {
        self.rooms = rooms
        self.except = except
        self.flags = flags
    }
}
