public import HTTPTypes
public import NIOCore
public import PushinatorHTTP
public import PushinatorJSON

/// What a client sent when it connected to a namespace.
public struct SocketHandshake: Sendable {
    /// The `auth` payload of the CONNECT packet (`{}` when the client sent none).
    public let auth: JSONValue
    /// The header fields of the Engine.IO handshake request.
    public let headers: HTTPFields
    /// The query of the Engine.IO handshake request.
    public let query: QueryParameters
    /// The client's address.
    public let address: SocketAddress?
    /// When the namespace connection was requested.
    public let time: ContinuousClock.Instant
    /// Whether the connection is encrypted.
    public let isSecure: Bool
}
