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
