import NIOCore
import NIOHTTP1

/// One request written to an upstream connection, with the promise of its response (the outbound message of
/// ``ForwardingClientHandler``).
struct ForwardedExchange: Sendable {
    /// A response: its head and collected body.
    struct Answer: Sendable {
        var head: HTTPResponseHead
        var body: ByteBuffer
        /// Whether the connection can carry another request.
        var keepAlive: Bool
        /// For a `101 Switching Protocols` of a tunnel: the handler that now pipes the connection's bytes.
        var tunnel: TunnelHandler.Box?
    }

    var head: HTTPRequestHead
    var body: ByteBuffer
    var promise: EventLoopPromise<Answer>
    var timeout: TimeAmount
    var maxBodyBytes: Int
    /// A WebSocket upgrade: a `101` turns the connection into a byte pipe.
    var isTunnel: Bool
}
