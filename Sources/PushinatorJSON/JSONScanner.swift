/// The byte-level recursive-descent parser behind ``JSONParser``.
///
/// It reads RFC 8259 JSON from raw bytes and keeps a scratch buffer for strings with escapes.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var index: Int = 0
    private var scratch: [UInt8] = []

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Parses one value that must span the whole input, surrounding whitespace aside.
    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if index != bytes.count {
            throw JSONParseError("trailing characters after the JSON value", offset: index)
        }
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw .unexpectedEnd(at: index) }
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case let byte:
            throw .unexpectedCharacter(byte, at: index)
        }
    }

    // MARK: Literals

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for offset in 0..<count {
            guard index < bytes.count else { throw .unexpectedEnd(at: index) }
            guard bytes[index] == start[offset] else { throw .unexpectedCharacter(bytes[index], at: index) }
            index += 1
        }
    }

    // MARK: Containers

    private mutating func checkDepth(_ depth: Int) throws(JSONParseError) {
        if depth > maxDepth {
            throw JSONParseError("nesting deeper than \(maxDepth) levels", offset: index)
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        try checkDepth(depth)
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw .unexpectedEnd(at: index) }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            case let byte:
                throw .unexpectedCharacter(byte, at: index)
            }
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        try checkDepth(depth)
        index += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        var positions: [String: Int]? = nil  // built once objects grow, to keep duplicate checks linear
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject(uncheckedUniqueMembers: members))
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw .unexpectedEnd(at: index) }
            guard bytes[index] == UInt8(ascii: "\"") else { throw .unexpectedCharacter(bytes[index], at: index) }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count else { throw .unexpectedEnd(at: index) }
            guard bytes[index] == UInt8(ascii: ":") else { throw .unexpectedCharacter(bytes[index], at: index) }
            index += 1
            let value = try parseValue(depth: depth)
            // Like JSON.parse: a repeated key keeps its last value at its first position.
            if let existing = Self.position(of: key, in: members, positions: &positions) {
                members[existing].value = value
            } else {
                positions?[key] = members.count
                members.append((key, value))
            }
            skipWhitespace()
            guard index < bytes.count else { throw .unexpectedEnd(at: index) }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(JSONObject(uncheckedUniqueMembers: members))
            case let byte:
                throw .unexpectedCharacter(byte, at: index)
            }
        }
    }

    private static func position(
        of key: String,
        in members: [(key: String, value: JSONValue)],
        positions: inout [String: Int]?
    ) -> Int? {
        if let positions { return positions[key] }
        if members.count < 16 {
            return members.firstIndex { $0.key == key }
        }
        var map: [String: Int] = [:]
        map.reserveCapacity(members.count * 2)
        for (offset, member) in members.enumerated() { map[member.key] = offset }
        positions = map
        return map[key]
    }

    // MARK: Strings

    /// Parses a string starting at the opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        let quote = index
        var cursor = index + 1
        while cursor < bytes.count {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "\"") {
                let string = try makeString(UnsafeRawBufferPointer(rebasing: bytes[(quote + 1)..<cursor]), at: quote)
                index = cursor + 1
                return string
            }
            if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(quote: quote, firstEscape: cursor)
            }
            if byte < 0x20 {
                throw JSONParseError("unescaped control character \(JSONParseError.describe(byte)) in string", offset: cursor)
            }
            cursor += 1
        }
        throw JSONParseError("unterminated string", offset: quote)
    }

    private mutating func parseEscapedString(quote: Int, firstEscape: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[(quote + 1)..<firstEscape]))
        var cursor = firstEscape
        while cursor < bytes.count {
            let byte = bytes[cursor]
            switch byte {
            case UInt8(ascii: "\""):
                index = cursor + 1
                return try scratch.withUnsafeBytes { raw in
                    Result { () throws(JSONParseError) in try makeString(raw, at: quote) }
                }.get()
            case UInt8(ascii: "\\"):
                cursor = try appendEscape(at: cursor)
            case 0..<0x20:
                throw JSONParseError("unescaped control character \(JSONParseError.describe(byte)) in string", offset: cursor)
            default:
                scratch.append(byte)
                cursor += 1
            }
        }
        throw JSONParseError("unterminated string", offset: quote)
    }

    /// Decodes the escape sequence at `backslash` into the scratch buffer and returns the offset after it.
    private mutating func appendEscape(at backslash: Int) throws(JSONParseError) -> Int {
        guard backslash + 1 < bytes.count else { throw JSONParseError("unterminated string", offset: backslash) }
        let escaped = bytes[backslash + 1]
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escaped)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try readHex4(at: backslash + 2)
            var next = backslash + 6
            var scalar = Unicode.Scalar(0xFFFD as UInt32)!
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate is only meaningful followed by an escaped low surrogate.
                if next + 1 < bytes.count, bytes[next] == UInt8(ascii: "\\"), bytes[next + 1] == UInt8(ascii: "u"),
                    case let low = try readHex4(at: next + 2), (0xDC00...0xDFFF).contains(low)
                {
                    let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    scalar = Unicode.Scalar(value)!
                    next += 6
                }
            } else if let plain = Unicode.Scalar(unit) {
                scalar = plain
            }
            appendUTF8(scalar)
            return next
        default:
            throw JSONParseError("invalid escape sequence '\\\(Character(Unicode.Scalar(escaped)))'", offset: backslash)
        }
        return backslash + 2
    }

    private func readHex4(at offset: Int) throws(JSONParseError) -> UInt16 {
        var value: UInt16 = 0
        for position in offset..<(offset + 4) {
            guard position < bytes.count else { throw JSONParseError("unterminated string", offset: position) }
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default: throw JSONParseError("invalid \\u escape: \(JSONParseError.describe(byte))", offset: position)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: Unicode.Scalar) {
        let value = scalar.value
        switch value {
        case 0..<0x80:
            scratch.append(UInt8(value))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (value >> 6)))
            scratch.append(UInt8(0x80 | (value & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (value >> 12)))
            scratch.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (value & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (value >> 18)))
            scratch.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (value & 0x3F)))
        }
    }

    private func makeString(_ raw: UnsafeRawBufferPointer, at quote: Int) throws(JSONParseError) -> String {
        // Keys and most values are ASCII, which is valid UTF-8 as it is; `String(validating:as:)` goes through a
        // generic path that looks up type metadata at run time on every call.
        if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
        guard let string = String(validating: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw JSONParseError("invalid UTF-8 in string", offset: quote)
        }
        return string
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count else { throw .unexpectedEnd(at: index) }
        var isInteger = true
        var magnitude: Int = 0  // accumulated negatively, so that Int.min fits
        var overflow = false
        switch bytes[index] {
        case UInt8(ascii: "0"):
            index += 1
            if index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                throw JSONParseError("leading zeros are not allowed", offset: index - 1)
            }
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            while index < bytes.count, case let byte = bytes[index], byte >= UInt8(ascii: "0"),
                byte <= UInt8(ascii: "9")
            {
                if !overflow {
                    let (times, o1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times.subtractingReportingOverflow(Int(byte &- UInt8(ascii: "0")))
                    overflow = o1 || o2
                    magnitude = sum
                }
                index += 1
            }
        case let byte:
            throw .unexpectedCharacter(byte, at: index)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            try consumeDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            try consumeDigits()
        }
        if isInteger && !overflow {
            if negative { return .integer(magnitude) }
            if magnitude != .min { return .integer(-magnitude) }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        return .double(Double(text) ?? .nan)
    }

    private mutating func consumeDigits() throws(JSONParseError) {
        guard index < bytes.count else { throw .unexpectedEnd(at: index) }
        guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
            throw .unexpectedCharacter(bytes[index], at: index)
        }
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
    }
}
