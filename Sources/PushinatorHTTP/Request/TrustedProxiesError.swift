/// A trusted-proxy entry that is neither an IP address nor a CIDR range.
public struct TrustedProxiesError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The entry as written.
    public let entry: String

    /// Creates the error for `entry`.
    public init(entry: String) { self.entry = entry }
    /// The message.
    public var description: String { "'\(entry)' is not an IP address or a CIDR range (such as 10.0.0.0/8)" }
}
