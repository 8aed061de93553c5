import HTTPTypes

extension String {
    /// Whether this string is `lowercase` (given in lower case) ignoring the case of ASCII letters, without
    /// making a lower-cased copy: the request path compares header names this way.
    func equalsIgnoringASCIICase(_ lowercase: StaticString) -> Bool {
        let count = lowercase.utf8CodeUnitCount
        guard utf8.count == count else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: count)
        return utf8.withContiguousStorageIfAvailable { Self.equal($0, lowered: expected) }
            ?? Self.equal(Array(utf8), lowered: expected)
    }

    private static func equal<Bytes: Collection<UInt8>>(_ bytes: Bytes, lowered expected: UnsafeBufferPointer<UInt8>)
        -> Bool
    {
        var index = 0
        for byte in bytes {
            let lowered = byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
            guard lowered == expected[index] else { return false }
            index &+= 1
        }
        return true
    }
}

extension HTTPField.Name {
    /// The name of a header field from the wire; the common ones are the constants, which skips the validation
    /// and lower-casing of `init?(_:)` (a request carries a few of them; a WebSocket handshake its three). `nil` when `name` is not a valid name.
    static func commonOrParsed(_ name: String) -> HTTPField.Name? {
        switch name.utf8.count {
        case 6 where name.equalsIgnoringASCIICase("accept"): .accept
        case 10 where name.equalsIgnoringASCIICase("user-agent"): .userAgent
        case 7 where name.equalsIgnoringASCIICase("upgrade"): .upgrade
        case 10 where name.equalsIgnoringASCIICase("connection"): .connection
        case 17 where name.equalsIgnoringASCIICase("sec-websocket-key"): .secWebSocketKey
        case 21 where name.equalsIgnoringASCIICase("sec-websocket-version"): .secWebSocketVersion
        case 12 where name.equalsIgnoringASCIICase("content-type"): .contentType
        case 14 where name.equalsIgnoringASCIICase("content-length"): .contentLength
        case 15 where name.equalsIgnoringASCIICase("accept-encoding"): .acceptEncoding
        default: HTTPField.Name(name)
        }
    }
}
