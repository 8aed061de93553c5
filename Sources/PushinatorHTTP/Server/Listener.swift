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
