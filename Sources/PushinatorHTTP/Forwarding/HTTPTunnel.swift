import NIOCore
import NIOHTTP1

/// The upstream end of a forwarded WebSocket upgrade: a connection that answered `101` and now pipes bytes. A
/// ``Response`` of ``HTTPForwardingClient`` carries it; the server relays the `101` and joins the client's connection
/// to it.
struct HTTPTunnel: Sendable {
    /// The pipe's end on the upstream connection.
    let upstream: TunnelHandler.Box
    /// The upstream connection.
    let channel: any Channel
    /// The header fields of the upstream's `101`, as received.
    let headers: HTTPHeaders

    /// Closes the upstream connection (the upgrade did not happen on the client's side).
    func close() { channel.close(promise: nil) }
}
