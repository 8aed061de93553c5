/// An IP address or a CIDR block (`10.0.0.0/8`, `192.168.1.7`, `fd00::/8`, `::1`), as configuration lists them
/// (trusted proxies, addresses exempt from the per-address connection limit).
///
/// IPv4 addresses also match their IPv4-mapped IPv6 form (`::ffff:10.1.2.3`), which a dual-stack listener reports.
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    /// The network's 16 bytes (IPv4 in its mapped IPv6 form).
    private let network: [UInt8]
    /// The prefix length over the 16 bytes (an IPv4 `/8` is `/104`).
    private let prefixLength: Int
    /// Whether the range was written as IPv4.
    private let isIPv4: Bool
    public let description: String

    /// Parses `address` or `address/prefix`; `nil` when it is neither.
    /// - Parameter text: an IPv4 or IPv6 address, optionally followed by `/` and a prefix length.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let (bytes, isV4) = Self.parse(String(parts[0])) else { return nil }
        let width = isV4 ? 32 : 128
        var prefix = width
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...width).contains(value) else { return nil }
            prefix = value
        }
        let length = prefix + (isV4 ? 96 : 0)
        network = Self.masked(bytes, prefixLength: length)
        prefixLength = length
        isIPv4 = isV4
        description = text
    }

    /// The loopback ranges, `127.0.0.0/8` and `::1`.
    public static let loopback: [AddressRange] = [AddressRange("127.0.0.0/8")!, AddressRange("::1")!]

    /// Whether `address` (as `SocketAddress.ipAddress` writes it) lies in the range.
    /// - Parameter address: an IPv4 or IPv6 address in text form.
    /// - Returns: `false` for text that is not an address.
    public func contains(_ address: String) -> Bool {
        guard let bytes = IPAddressBytes.parse(address) else { return false }
        return contains(addressBytes: bytes)
    }

    /// Whether an address, as ``IPAddressBytes`` parses it (4 bytes for IPv4, 16 for IPv6), lies in the range.
    /// - Parameters:
    ///   - bytes: the address's bytes.
    ///   - sameFamily: when `true`, an IPv6 range does not contain IPv4 addresses (in their mapped form it may).
    func contains(addressBytes bytes: [UInt8], sameFamily: Bool = false) -> Bool {
        let (mapped, isV4) = Self.mapped(bytes)
        if sameFamily, isV4 != isIPv4 { return false }
        return Self.masked(mapped, prefixLength: prefixLength) == network
    }

    private static func masked(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        var result = bytes
        for index in 0..<16 {
            let bits = min(8, max(0, prefixLength - index * 8))
            result[index] &= bits == 8 ? 0xFF : ~(0xFF >> bits)
        }
        return result
    }

    /// The 16 bytes of an address (IPv4 mapped into IPv6) and whether it was written as IPv4.
    ///
    /// The text is parsed in Swift (`IPAddressBytes`, shared with `TrustedProxies`), not with `inet_pton`, whose
    /// C structs resolve to a different module in release builds under `MemberImportVisibility`.
    private static func parse(_ text: String) -> ([UInt8], Bool)? {
        IPAddressBytes.parse(text).map(mapped)
    }

    /// 16 bytes for 4 or 16 (IPv4 in its mapped IPv6 form), and whether they were IPv4.
    private static func mapped(_ bytes: [UInt8]) -> ([UInt8], Bool) {
        if bytes.count == 4 { return ([UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + bytes, true) }
        return (bytes, false)
    }
}

extension Sequence<AddressRange> {
    /// Whether any range contains `address`.
    func containsAddress(_ address: String) -> Bool {
        contains { $0.contains(address) }
    }
}
