public import HTTPTypes

/// The proxies whose `Forwarded` / `X-Forwarded-For` headers name the client's address.
///
/// A request that arrives from a trusted proxy carries the client's address in a header the proxy set; a request
/// from anyone else does not, whatever headers it carries (a client could write any address there). The list holds
/// addresses (`127.0.0.1`, `::1`) and CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
///
/// ```swift
/// let proxies = try TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
/// let client = proxies.clientAddress(peer: "127.0.0.1", headers: request.headers)  // from X-Forwarded-For
/// ```
///
/// The chain of addresses is read from `Forwarded` (RFC 7239, its `for=` parameters) when present, else from
/// `X-Forwarded-For`; all lines of the header in order. It is walked from the right (the hop nearest to us): each
/// trusted address is skipped, and the first untrusted one is the client. A chain of trusted addresses only gives
/// its leftmost one; an entry that is not an address (`unknown`, an obfuscated name) stops the walk at the last
/// trusted hop before it.
public struct TrustedProxies: Sendable, Equatable {
    /// The trusted ranges, as written.
    public let entries: [String]
    private let ranges: [AddressRange]

    /// No proxy is trusted: every client address is the peer's.
    public static var none: TrustedProxies { TrustedProxies(validated: []) }

    /// Parses addresses and CIDR ranges.
    /// - Parameter entries: Items such as `127.0.0.1`, `::1`, `10.0.0.0/8` or `2001:db8::/32`.
    /// - Throws: ``TrustedProxiesError`` naming the first item that is neither an address nor a range.
    public init(_ entries: [String]) throws(TrustedProxiesError) {
        var ranges: [AddressRange] = []
        for entry in entries {
            guard let range = Self.range(entry) else { throw TrustedProxiesError(entry: entry) }
            ranges.append(range)
        }
        self.entries = entries
        self.ranges = ranges
    }

    private init(validated: [String]) {
        self.entries = validated
        self.ranges = validated.compactMap(Self.range)
    }

    /// An entry as a range; surrounding spaces are ignored.
    private static func range(_ entry: String) -> AddressRange? {
        AddressRange(String(entry.trimmingSpaces))
    }

    /// Whether `address` (an IP address as text) is a trusted proxy.
    /// - Parameter address: An IPv4 or IPv6 address, without port.
    /// - Returns: `true` when a trusted range contains it.
    public func contains(_ address: String) -> Bool {
        guard let bytes = IPAddressBytes.parse(address) else { return false }
        return contains(bytes)
    }

    /// The address of the client that sent a request.
    /// - Parameters:
    ///   - peer: The address of the connection's other end (an IP address without port), if known.
    ///   - headers: The request's header fields; evaluated only when the peer is a trusted proxy (a Socket.IO
    ///     connection rebuilds its handshake's fields to give them: 11k instructions of every `auth`).
    /// - Returns: The peer, unless it is a trusted proxy whose forwarding headers name the client.
    public func clientAddress(peer: String?, headers: @autoclosure () -> HTTPFields) -> String? {
        guard let peer, !ranges.isEmpty, let peerBytes = IPAddressBytes.parse(peer), contains(peerBytes) else {
            return peer
        }
        let headers = headers()
        var chain = Self.forwardedFor(headers)
        if chain.isEmpty { chain = Self.xForwardedFor(headers) }
        var client = peer
        for entry in chain.reversed() {
            guard let address = Self.stripPort(entry), let bytes = IPAddressBytes.parse(address) else { return client }
            client = address
            if !contains(bytes) { return address }
        }
        return client
    }

    private func contains(_ bytes: [UInt8]) -> Bool {
        // An IPv6 range never trusts an IPv4 peer (IPAddressBytes gives IPv4-mapped addresses as IPv4).
        ranges.contains { $0.contains(addressBytes: bytes, sameFamily: true) }
    }

    // MARK: Header parsing

    /// The `for=` values of every `Forwarded` element, left to right.
    static func forwardedFor(_ headers: HTTPFields) -> [String] {
        var result: [String] = []
        for line in headers[values: .forwarded] {
            for element in line.split(separator: ",") {
                for pair in element.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0].trimmingSpaces.lowercased() == "for" else { continue }
                    var value = parts[1].trimmingSpaces
                    if value.count >= 2, value.first == "\"", value.last == "\"" {
                        value = value.dropFirst().dropLast()
                    }
                    result.append(String(value))
                }
            }
        }
        return result
    }

    /// The items of every `X-Forwarded-For` line, left to right.
    static func xForwardedFor(_ headers: HTTPFields) -> [String] {
        headers[values: .xForwardedFor].flatMap { line in
            line.split(separator: ",").map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        }
    }

    /// `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `[::1]` or `::1` without the port; `nil` for anything else.
    static func stripPort(_ text: String) -> String? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            return String(text[text.index(after: text.startIndex)..<close])
        }
        let colons = text.count(where: { $0 == ":" })
        if colons == 1, let colon = text.firstIndex(of: ":") { return String(text[..<colon]) }
        return text
    }
}

/// IP addresses as network-order bytes (4 or 16); IPv4-mapped IPv6 addresses become IPv4.
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        if let v4 = parseIPv4(Substring(text)) { return v4 }
        let zoneless = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard let v6 = parseIPv6(zoneless) else { return nil }
        if v6[0..<10].allSatisfy({ $0 == 0 }), v6[10] == 0xFF, v6[11] == 0xFF { return Array(v6[12...]) }
        return v6
    }

    /// `a.b.c.d`, four decimal parts of 0-255 without leading zeros.
    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                part.count == 1 || part.first != "0", let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    /// Eight groups of up to four hex digits, `::` for a run of zero groups, an IPv4 address as the last 32 bits.
    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.count >= 2, text.count <= 45 else { return nil }
        let marks = text.ranges(of: "::")
        guard marks.count <= 1 else { return nil }
        func groups(_ part: Substring, allowIPv4: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowIPv4, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    bytes += v4
                } else {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
                }
            }
            return bytes
        }
        guard let mark = marks.first else {
            guard let bytes = groups(text, allowIPv4: true), bytes.count == 16 else { return nil }
            return bytes
        }
        guard let head = groups(text[..<mark.lowerBound], allowIPv4: false),
            let tail = groups(text[mark.upperBound...], allowIPv4: true),
            head.count + tail.count <= 14
        else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

extension HTTPField.Name {
    /// `Forwarded` (RFC 7239).
    static var forwarded: Self { Self("Forwarded")! }
    /// `X-Forwarded-For`.
    static var xForwardedFor: Self { Self("X-Forwarded-For")! }
}
