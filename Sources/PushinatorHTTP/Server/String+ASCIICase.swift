import HTTPTypes

extension String {
    /// Whether this string is `lowercase` (given in lower case) ignoring the case of ASCII letters, without
    /// making a lower-cased copy: the request path compares header names this way.
    func equalsIgnoringASCIICase(_ lowercase: StaticString) -> Bool {
        guard utf8.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            var index = 0
            for byte in utf8 {
                let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                guard lowered == expected[index] else { return false }
                index &+= 1
            }
            return true
        }
    }
}

extension HTTPField.Name {
    /// The name of a header field from the wire; the common ones are the constants, which skips the validation
    /// and lower-casing of `init?(_:)` (a request carries a few of them). `nil` when `name` is not a valid name.
    static func commonOrParsed(_ name: String) -> HTTPField.Name? {
        switch name.utf8.count {
        case 6 where name.equalsIgnoringASCIICase("accept"): .accept
        case 10 where name.equalsIgnoringASCIICase("user-agent"): .userAgent
        case 10 where name.equalsIgnoringASCIICase("connection"): .connection
        case 12 where name.equalsIgnoringASCIICase("content-type"): .contentType
        case 14 where name.equalsIgnoringASCIICase("content-length"): .contentLength
        case 15 where name.equalsIgnoringASCIICase("accept-encoding"): .acceptEncoding
        default: HTTPField.Name(name)
        }
    }
}
