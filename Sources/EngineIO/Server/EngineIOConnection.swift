public import NIOCore
public import PushinatorHTTP

/// One client's Engine.IO connection, as the layer above (Socket.IO) sees it: a Sendable handle whose methods may
/// be called from any thread (they hop to ``eventLoop``, and are cheapest there).
///
/// ``EngineIOSession`` is the server's implementation; its protocol state is confined to its event loop.
///
/// ```swift
/// func session(_ session: EngineIOSession, didReceive message: EngineIOMessage) {
///     let connection: any EngineIOConnection = session
///     connection.send(.text(ByteBuffer(string: "echo")))
/// }
/// ```
public protocol EngineIOConnection: AnyObject, Sendable {
    /// The session id (`sid`).
    var id: String { get }
    /// The protocol revision the client speaks.
    var version: EngineIOVersion { get }
    /// The event loop that owns the connection.
    var eventLoop: any EventLoop { get }
    /// The handshake request (headers, query, address).
    var handshake: Request { get }
    /// The client's address.
    var remoteAddress: SocketAddress? { get }
    /// Sends a message.
    func send(_ message: EngineIOMessage)
    /// Sends an encoded packet (the same value can go to many connections).
    func send(_ packet: EngineIOEncodedPacket)
    /// Sends several packets in order (a Socket.IO packet and its binary attachments).
    func send(_ packets: [EngineIOEncodedPacket])
    /// Ends the connection; the client is told (close packet) when possible.
    func close(reason: EngineIOCloseReason)
    /// Ends the connection without a close packet, as if the network failed: official clients reconnect.
    func abort()
}
