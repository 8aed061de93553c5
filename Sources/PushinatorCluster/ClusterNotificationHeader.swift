/// The two top-level members of a notification a node needs to recognise its own messages without parsing them:
/// whether `uid` is a given node's, and the log id (`pushinatorLogId`).
///
/// Every node receives its own notifications back from PostgreSQL (the bus lag and the log position are read from
/// them) and drops them: parsing each one fully as JSON to read two members was about 6 % of a node's work under
/// the bus load. ``skim(_:uid:)`` walks the top level of the object once, skipping the other members' values
/// without building them (strings with their escapes, arrays and objects by their brackets), and allocates nothing.
///
/// It does not validate what it skips: a text it cannot walk (not an object, unbalanced brackets, a top-level key
/// or the `uid` with an escape, a key twice, text after the object) gives `nil`, and the caller parses it fully.
public struct ClusterNotificationHeader: Sendable, Equatable {
    /// Whether the top-level `uid` is the `uid` given to ``skim(_:uid:)``.
    public var isFromUID: Bool
    /// The top-level `pushinatorLogId`, when it is a non-negative integer of at most 18 digits.
    public var logID: Int64?

    /// Creates a header.
    public init(isFromUID: Bool, logID: Int64?) {
        self.isFromUID = isFromUID
        self.logID = logID
    }

    /// Reads the top-level `uid` and `pushinatorLogId` of a notification's JSON text.
    /// - Parameters:
    ///   - text: The notification's payload.
    ///   - uid: The uid to compare the top-level `uid` with (a node's own).
    /// - Returns: The header, or `nil` when the text is not an object the skim can walk (parse it fully then).
    public static func skim(_ text: String, uid: String) -> ClusterNotificationHeader? {
        var text = text
        var uid = uid
        return text.withUTF8 { bytes in
            uid.withUTF8 { uidBytes in
                var skimmer = Skimmer(bytes: UnsafeRawBufferPointer(bytes))
                return skimmer.header(uid: UnsafeRawBufferPointer(uidBytes))
            }
        }
    }

    private struct Skimmer {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        private static let quote = UInt8(ascii: "\"")
        private static let backslash = UInt8(ascii: "\\")
        private static let uidKey: StaticString = "uid"
        private static let logIDKey: StaticString = "pushinatorLogId"

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func header(uid: UnsafeRawBufferPointer) -> ClusterNotificationHeader? {
            skipWhitespace()
            guard take(UInt8(ascii: "{")) else { return nil }
            var isFromUID: Bool?
            var logID: Int64??
            skipWhitespace()
            if !take(UInt8(ascii: "}")) {
                while true {
                    skipWhitespace()
                    guard let key = rawString(), key.escaped == false else { return nil }
                    skipWhitespace()
                    guard take(UInt8(ascii: ":")) else { return nil }
                    skipWhitespace()
                    if Self.equals(key.range, Self.uidKey, in: bytes) {
                        guard isFromUID == nil else { return nil }
                        if index < bytes.count, bytes[index] == Self.quote {
                            guard let value = rawString(), !value.escaped else { return nil }
                            isFromUID = value.range.count == uid.count
                                && zip(bytes[value.range], uid).allSatisfy { $0 == $1 }
                        } else {
                            guard skipValue() else { return nil }
                            isFromUID = false
                        }
                    } else if Self.equals(key.range, Self.logIDKey, in: bytes) {
                        guard logID == nil else { return nil }
                        let start = index
                        guard skipValue() else { return nil }
                        logID = .some(Self.integer(bytes[start..<index]))
                    } else {
                        guard skipValue() else { return nil }
                    }
                    skipWhitespace()
                    if take(UInt8(ascii: ",")) { continue }
                    guard take(UInt8(ascii: "}")) else { return nil }
                    break
                }
            }
            skipWhitespace()
            guard index == bytes.count else { return nil }
            return ClusterNotificationHeader(isFromUID: isFromUID ?? false, logID: logID ?? nil)
        }

        private mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A string at `index`: the range of its content between the quotes, and whether it has an escape.
        private mutating func rawString() -> (range: Range<Int>, escaped: Bool)? {
            guard take(Self.quote) else { return nil }
            let start = index
            var escaped = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == Self.quote {
                    index += 1
                    return (start..<(index - 1), escaped)
                }
                if byte == Self.backslash {
                    escaped = true
                    index += 2
                } else {
                    index += 1
                }
            }
            return nil
        }

        /// Skips one value (not validated): a string, an array or object up to its matching bracket, or a literal
        /// or number up to the next `,`, `}`, `]` or whitespace.
        private mutating func skipValue() -> Bool {
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case Self.quote:
                return rawString() != nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case Self.quote:
                        guard rawString() != nil else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            return true
                        }
                    default:
                        break
                    }
                    index += 1
                }
                return false
            default:
                let start = index
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D:
                        return index > start
                    case UInt8(ascii: "{"), UInt8(ascii: "["), Self.quote:
                        return false
                    default:
                        index += 1
                    }
                }
                return false
            }
        }

        private static func equals(_ range: Range<Int>, _ key: StaticString, in bytes: UnsafeRawBufferPointer) -> Bool {
            guard range.count == key.utf8CodeUnitCount else { return false }
            let keyBytes = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
            return zip(bytes[range], keyBytes).allSatisfy { $0 == $1 }
        }

        private static func integer(_ digits: Slice<UnsafeRawBufferPointer>) -> Int64? {
            guard !digits.isEmpty, digits.count <= 18 else { return nil }
            var value: Int64 = 0
            for byte in digits {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
    }
}
