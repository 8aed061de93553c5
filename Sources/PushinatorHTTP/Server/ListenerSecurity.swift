public import NIOCore

/// Secures the connections of a listener, for example with TLS (see the `PushinatorTLS` module).
///
/// The server calls ``configure(channel:)`` for every accepted connection before it adds its HTTP handlers.
public protocol ListenerSecurity: Sendable {
    /// Adds the handlers that secure `channel` at the front of its pipeline. Called on the channel's event loop.
    func configure(channel: any Channel) throws
}

/// One address the server listens on, optionally secured.
public struct Listener: Sendable {
    /// The address to bind.
    public var address: BindAddress
    /// TLS or another security layer; `nil` for plain HTTP.
    public var security: (any ListenerSecurity)?

    /// Creates a listener.
    public init(_ address: BindAddress, security: (any ListenerSecurity)? = nil) {
        self.address = address
        self.security = security
    }
}
