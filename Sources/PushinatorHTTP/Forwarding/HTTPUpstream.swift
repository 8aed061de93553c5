/// A server that requests are forwarded to: a host and port, reached over plain HTTP/1.1.
///
/// ```swift
/// let upstream = HTTPUpstream(address: "http://10.0.0.5:8081")   // or "10.0.0.5:8081", "[fd00::5]:8081"
/// ```
public struct HTTPUpstream: Sendable, Hashable, CustomStringConvertible {
    /// The host name or IP address (IPv6 without brackets).
    public var host: String
    /// The port.
    public var port: Int

    /// Creates an upstream.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `http://host:port`, `host:port` or `[v6]:port` (a trailing `/` is allowed); `nil` for anything else,
    /// such as `https://` (forwarding is plain HTTP between the nodes of a private network), a path, no port, or a
    /// wildcard address (`0.0.0.0`, `::`), which cannot be connected to.
    /// - Parameter address: The text.
    public init?(address: String) {
        var text = Substring(address)
        if text.hasPrefix("http://") { text = text.dropFirst(7) }
        if text.hasSuffix("/") { text = text.dropLast() }
        guard !text.contains("/"), !text.contains("://"), let colon = text.lastIndex(of: ":") else { return nil }
        var host = text[..<colon]
        guard let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else { return nil }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { return nil }
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            return nil  // an IPv6 address needs brackets
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "@" }) else { return nil }
        guard !Self.isWildcard(String(host)) else { return nil }
        self.init(host: String(host), port: port)
    }

    /// Whether `host` is a wildcard listening address (every interface), which names no particular machine.
    public static func isWildcard(_ host: String) -> Bool {
        host == "0.0.0.0" || host == "::" || host == "*" || host == "0:0:0:0:0:0:0:0"
    }

    /// `host:port`, with brackets around an IPv6 address (the `Host` header and the address text).
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `http://host:port`.
    public var url: String { "http://\(description)" }
}
