/// Where a listener accepts connections.
public struct BindAddress: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case hostname(String, port: Int)
        case unixDomainSocket(path: String)
    }

    let kind: Kind

    /// A host name or IP address (IPv4 or IPv6) and a port; port 0 picks a free port.
    public static func hostname(_ host: String = "127.0.0.1", port: Int) -> BindAddress {
        BindAddress(kind: .hostname(host, port: port))
    }

    /// A Unix domain socket at `path`.
    public static func unixDomainSocket(path: String) -> BindAddress {
        BindAddress(kind: .unixDomainSocket(path: path))
    }

    public var description: String {
        switch kind {
        case .hostname(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixDomainSocket(let path): "unix:\(path)"
        }
    }
}
