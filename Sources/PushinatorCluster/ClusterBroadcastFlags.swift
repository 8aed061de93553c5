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
