/// The decoded query of a request target; `+` is a space and percent escapes are decoded.
///
/// Repeated keys are kept in order: `?tag=a&tag=b` gives `all("tag") == ["a", "b"]` and `self["tag"] == "a"`.
public struct QueryParameters: Sendable, Sequence {
    private var pairs: [(key: String, value: String)]

    /// Parses a raw query string such as `EIO=4&transport=polling`.
    public init(parsing query: Substring) {
        // Over the UTF-8 bytes: `&` and `=` are ASCII, so every index found is a valid `Substring` index, and no
        // grapheme breaking is paid for (a `Character` split was a percent of a Socket.IO connect). A native
        // string's bytes are read through a pointer, and the pairs array is sized once (the index-based scan cost
        // ~6k instructions for the two pairs of a WebSocket handshake).
        pairs =
            query.utf8.withContiguousStorageIfAvailable { Self.parse($0) }
            ?? Array(query.utf8).withUnsafeBufferPointer { Self.parse($0) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> [(key: String, value: String)] {
        guard !bytes.isEmpty else { return [] }
        var separators = 1
        for byte in bytes where byte == UInt8(ascii: "&") { separators += 1 }
        var pairs: [(key: String, value: String)] = []
        pairs.reserveCapacity(separators)
        var start = 0
        let end = bytes.count
        while start < end {
            var stop = start
            var equals = -1
            while stop < end, bytes[stop] != UInt8(ascii: "&") {
                if equals < 0, bytes[stop] == UInt8(ascii: "=") { equals = stop }
                stop += 1
            }
            if start != stop {
                if equals >= 0 {
                    pairs.append(
                        (
                            PercentDecoding.decode(UnsafeBufferPointer(rebasing: bytes[start..<equals]), plusAsSpace: true),
                            PercentDecoding.decode(UnsafeBufferPointer(rebasing: bytes[(equals + 1)..<stop]), plusAsSpace: true)
                        )
                    )
                } else {
                    pairs.append((PercentDecoding.decode(UnsafeBufferPointer(rebasing: bytes[start..<stop]), plusAsSpace: true), ""))
                }
            }
            start = stop + 1
        }
        return pairs
    }

    /// The first value of `key`.
    public subscript(key: String) -> String? {
        for pair in pairs where pair.key == key { return pair.value }
        return nil
    }

    /// Every value of `key`, in order.
    public func all(_ key: String) -> [String] { pairs.filter { $0.key == key }.map(\.value) }

    /// The first value of `key` converted to `T`, or `nil` when missing or not convertible.
    public func get<T: LosslessStringConvertible>(_ key: String, as type: T.Type = T.self) -> T? {
        self[key].flatMap(T.init)
    }

    /// Whether the query has no parameters.
    public var isEmpty: Bool { pairs.isEmpty }

    public func makeIterator() -> IndexingIterator<[(key: String, value: String)]> { pairs.makeIterator() }
}

/// Percent-decoding of URL components.
enum PercentDecoding {
    /// ``decode(_:plusAsSpace:)-(Substring,_)`` of bytes (valid or not: the result is repaired UTF-8 as before).
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, plusAsSpace: Bool) -> String {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hexValue(bytes[index + 1]),
                let low = hexValue(bytes[index + 2])
            {
                decoded.append(high << 4 | low)
                index += 3
                continue
            }
            decoded.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    /// Decodes `%XX` escapes (and `+` as space when asked); malformed escapes are kept literally.
    static func decode(_ text: Substring, plusAsSpace: Bool) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"),
                let first = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), first != utf8.endIndex,
                let second = utf8.index(first, offsetBy: 1, limitedBy: utf8.endIndex), second != utf8.endIndex,
                let high = hexValue(utf8[first]), let low = hexValue(utf8[second])
            {
                bytes.append(high << 4 | low)
                index = utf8.index(after: second)
                continue
            }
            bytes.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index = utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
