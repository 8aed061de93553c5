import EngineIO
public import HTTPTypes
public import NIOCore
public import PushinatorHTTP
public import PushinatorJSON

/// What a client sent when it connected to a namespace.
///
/// ``headers`` and ``query`` are rebuilt from the compact copy of the handshake request that the connection keeps
/// (``EngineIOHandshake``) on every read: read them once (in middleware or a handler), not per message.
public struct SocketHandshake: Sendable {
    /// The `auth` payload of the CONNECT packet (`{}` when the client sent none).
    public let auth: JSONValue
    /// The Engine.IO handshake request's head.
    let request: EngineIOHandshake
    /// The client's address.
    public let address: SocketAddress?
    /// When the namespace connection was requested.
    public let time: ContinuousClock.Instant

    /// The header fields of the Engine.IO handshake request.
    public var headers: HTTPFields { request.headers }
    /// The query of the Engine.IO handshake request.
    public var query: QueryParameters { request.query }
    /// Whether the connection is encrypted.
    public var isSecure: Bool { request.isSecure }
}
