public import NIOCore

/// Secures the connections of a listener, for example with TLS (see the `PushinatorTLS` module).
///
/// The server calls ``configure(channel:)`` for every accepted connection before it adds its HTTP handlers.
public protocol ListenerSecurity: Sendable {
    /// Adds the handlers that secure `channel` at the front of its pipeline. Called on the channel's event loop.
    func configure(channel: any Channel) throws
}
