public import NIOCore

extension SocketAddress {
    /// The address as a user writes it: `127.0.0.1:8080`, `[::1]:8080` or the socket path.
    public var hostAndPort: String {
        switch self {
        case .v4:
            "\(ipAddress ?? "?"):\(port ?? 0)"
        case .v6:
            "[\(ipAddress ?? "?")]:\(port ?? 0)"
        case .unixDomainSocket:
            pathname ?? "unix"
        }
    }
}

extension SocketAddress {
    /// Like ``hostAndPort``, but an unspecified address (`0.0.0.0`, `::`) becomes loopback, so that the text is a
    /// URL authority a local client can connect to.
    public var connectableHostAndPort: String {
        switch (self, ipAddress) {
        case (.v4, "0.0.0.0"): "127.0.0.1:\(port ?? 0)"
        case (.v6, "::"): "[::1]:\(port ?? 0)"
        default: hostAndPort
        }
    }
}
