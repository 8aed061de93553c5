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

/// socket.io's `BroadcastFlags`; a flag that was not set is `nil` and is not written (as `JSON.stringify` skips it).
public struct ClusterBroadcastFlags: Sendable, Hashable {
    /// The packet may be dropped for a client that is not ready.
    public var volatile: Bool?
    /// Whether to compress the packet.
    public var compress: Bool?
    /// Only this node's sockets (never published; decoded for completeness).
    public var local: Bool?
    /// Set by `socket.broadcast`.
    public var broadcast: Bool?
    /// Whether the packet holds binary data.
    public var binary: Bool?
    /// The acknowledgement timeout, in milliseconds.
    public var timeout: Int?
    /// Whether a single response is expected (`emitWithAck` on one socket).
    public var expectSingleResponse: Bool?

    /// Creates flags; all unset by default.
    public init(
        volatile: Bool? = nil,
        compress: Bool? = nil,
        local: Bool? = nil,
        broadcast: Bool? = nil,
        binary: Bool? = nil,
        timeout: Int? = nil,
        expectSingleResponse: Bool? = nil
    ) {
        self.volatile = volatile
        self.compress = compress
        self.local = local
        self.broadcast = broadcast
        self.binary = binary
        self.timeout = timeout
        self.expectSingleResponse = expectSingleResponse
    }
}
