import PushinatorJSON

/// A recursive-descent parser for JSON and for the JavaScript object literals node pushinator's config uses.
///
/// It works on UTF-8 bytes, tracks only an offset, and computes line and column when it reports an error.
/// Recursion is bounded by `maximumDepth`; every read is bounds-checked.
struct ConfigLiteralParser {
    private let bytes: [UInt8]
    private let source: String
    private let maximumDepth: Int
    private var index: Int = 0
    private var depth: Int = 0

    init(bytes: [UInt8], source: String, maximumDepth: Int) {
        self.bytes = bytes
        self.source = source
        self.maximumDepth = max(1, maximumDepth)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    // MARK: Document

    /// `value ;?` or `target = value ;?` or `var name = value ; module.exports = name ;?`.
    mutating func parseDocument() throws(ConfigError) -> JSONValue {
        try skipTrivia()
        let value: JSONValue
        if let byte = peek(), Self.isIdentifierStart(byte) {
            let start = index
            let word = readIdentifier()
            switch word {
            case "true", "false", "null", "undefined":
                index = start
                value = try parseValue()
            case "var", "let", "const":
                try skipTrivia()
                let name = try expectIdentifier("a variable name")
                try expect(UInt8(ascii: "="), "'='")
                value = try parseValue()
                try skipStatementEnd()
                if peek() != nil {
                    try parseExportTarget()
                    try expect(UInt8(ascii: "="), "'='")
                    try skipTrivia()
                    let exported = try expectIdentifier("'\(name)'")
                    guard exported == name else {
                        throw error(at: index - exported.utf8.count, "expected '\(name)' but found '\(exported)'")
                    }
                }
            default:
                index = start
                try parseExportTarget()
                try expect(UInt8(ascii: "="), "'='")
                value = try parseValue()
            }
        } else {
            value = try parseValue()
        }
        try skipStatementEnd()
        if peek() != nil { throw unexpected("end of file") }
        return value
    }

    /// `module.exports`, `exports`, or either followed by `.name`.
    private mutating func parseExportTarget() throws(ConfigError) {
        try skipTrivia()
        let start = index
        var parts = [try expectIdentifier("'module.exports ='")]
        while true {
            try skipTrivia()
            guard peek() == UInt8(ascii: ".") else { break }
            index += 1
            try skipTrivia()
            parts.append(try expectIdentifier("a property name"))
            if parts.count > 3 { break }
        }
        let valid =
            (parts[0] == "exports" && parts.count <= 2)
            || (parts[0] == "module" && parts.count >= 2 && parts[1] == "exports" && parts.count <= 3)
        guard valid else {
            throw error(
                at: start,
                "expected 'module.exports =' or a JSON value but found '\(parts.joined(separator: "."))'"
            )
        }
    }

    /// Skips trivia and at most one `;`, then trivia again.
    private mutating func skipStatementEnd() throws(ConfigError) {
        try skipTrivia()
        if peek() == UInt8(ascii: ";") { index += 1 }
        try skipTrivia()
    }

    // MARK: Values

    private mutating func parseValue() throws(ConfigError) -> JSONValue {
        try skipTrivia()
        guard let byte = peek() else { throw unexpected("a value") }
        switch byte {
        case UInt8(ascii: "{"):
            return try nested { (parser: inout Self) throws(ConfigError) in try parser.parseObject() }
        case UInt8(ascii: "["):
            return try nested { (parser: inout Self) throws(ConfigError) in try parser.parseArray() }
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            guard Self.isIdentifierStart(byte) else { throw unexpected("a value") }
            let start = index
            switch readIdentifier() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null", "undefined": return .null
            default:
                index = start
                throw unexpected("a value")
            }
        }
    }

    private mutating func nested(
        _ body: (inout Self) throws(ConfigError) -> JSONValue
    ) throws(ConfigError) -> JSONValue {
        guard depth < maximumDepth else {
            throw error(at: index, "arrays and objects nest deeper than \(maximumDepth) levels")
        }
        depth += 1
        defer { depth -= 1 }
        return try body(&self)
    }

    private mutating func parseObject() throws(ConfigError) -> JSONValue {
        index += 1  // {
        var object = JSONObject()
        while true {
            try skipTrivia()
            guard let byte = peek() else { throw unexpected("a key or '}'") }
            if byte == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            let key: String
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                key = try parseString()
            } else if Self.isIdentifierStart(byte) {
                key = readIdentifier()
            } else if Self.isDigit(byte) {
                key = readWhile(Self.isIdentifierPart)
            } else {
                throw unexpected("a key or '}'")
            }
            try expect(UInt8(ascii: ":"), "':'")
            object[key] = try parseValue()
            try skipTrivia()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(object)
            default: throw unexpected("',' or '}'")
            }
        }
    }

    private mutating func parseArray() throws(ConfigError) -> JSONValue {
        index += 1  // [
        var elements: [JSONValue] = []
        while true {
            try skipTrivia()
            guard let byte = peek() else { throw unexpected("a value or ']'") }
            if byte == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            if byte == UInt8(ascii: ",") { throw unexpected("a value or ']'") }
            elements.append(try parseValue())
            try skipTrivia()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default: throw unexpected("',' or ']'")
            }
        }
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(ConfigError) -> JSONValue {
        let start = index
        var negative = false
        if let sign = peek(), sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            index += 1
        }
        if peek() == UInt8(ascii: "0"), let x = peek(offset: 1), x | 0x20 == UInt8(ascii: "x") {
            index += 2
            let digits = readWhile(Self.isHexDigit)
            guard !digits.isEmpty else { throw unexpected("a hexadecimal digit") }
            guard let magnitude = Int(digits, radix: 16) else { throw error(at: start, "number is too large") }
            return .integer(negative ? -magnitude : magnitude)
        }
        let integerPart = readWhile(Self.isDigit)
        var fractionPart = ""
        var hasFraction = false
        if peek() == UInt8(ascii: ".") {
            hasFraction = true
            index += 1
            fractionPart = readWhile(Self.isDigit)
        }
        guard !integerPart.isEmpty || !fractionPart.isEmpty else { throw unexpected("a digit") }
        var exponentPart = ""
        if let e = peek(), e | 0x20 == UInt8(ascii: "e") {
            index += 1
            if let sign = peek(), sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
                exponentPart.append(Character(Unicode.Scalar(sign)))
                index += 1
            }
            let digits = readWhile(Self.isDigit)
            guard !digits.isEmpty else { throw unexpected("an exponent digit") }
            exponentPart += digits
        }
        let sign = negative ? "-" : ""
        if !hasFraction && exponentPart.isEmpty, let integer = Int(sign + integerPart) {
            return .integer(integer)
        }
        let text =
            sign + (integerPart.isEmpty ? "0" : integerPart) + "." + (fractionPart.isEmpty ? "0" : fractionPart)
            + (exponentPart.isEmpty ? "" : "e" + exponentPart)
        guard let double = Double(text), double.isFinite else { throw error(at: start, "number is out of range") }
        return .double(double)
    }

    // MARK: Strings

    private mutating func parseString() throws(ConfigError) -> String {
        let start = index
        let quote = bytes[index]
        index += 1
        var utf8: [UInt8] = []
        var pendingHighSurrogate: UInt32?
        func flushSurrogate(_ utf8: inout [UInt8], _ pending: inout UInt32?) {
            if pending != nil {
                utf8.append(contentsOf: [0xEF, 0xBF, 0xBD])  // U+FFFD for a lone surrogate
                pending = nil
            }
        }
        while true {
            guard let byte = peek() else { throw error(at: start, "unterminated string") }
            if byte == quote {
                index += 1
                flushSurrogate(&utf8, &pendingHighSurrogate)
                break
            }
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                throw error(at: start, "unterminated string")
            }
            guard byte == UInt8(ascii: "\\") else {
                flushSurrogate(&utf8, &pendingHighSurrogate)
                utf8.append(byte)
                index += 1
                continue
            }
            let escapeStart = index
            index += 1
            guard let escape = peek() else { throw error(at: start, "unterminated string") }
            index += 1
            var scalar: UInt32?
            switch escape {
            case UInt8(ascii: "n"): scalar = 0x0A
            case UInt8(ascii: "t"): scalar = 0x09
            case UInt8(ascii: "r"): scalar = 0x0D
            case UInt8(ascii: "b"): scalar = 0x08
            case UInt8(ascii: "f"): scalar = 0x0C
            case UInt8(ascii: "v"): scalar = 0x0B
            case UInt8(ascii: "0") where !(peek().map(Self.isDigit) ?? false): scalar = 0
            case UInt8(ascii: "x"):
                scalar = try readHexEscape(count: 2, escapeStart: escapeStart)
            case UInt8(ascii: "u"):
                if peek() == UInt8(ascii: "{") {
                    index += 1
                    let digits = readWhile(Self.isHexDigit)
                    guard !digits.isEmpty, digits.count <= 8, peek() == UInt8(ascii: "}"),
                        let value = UInt32(digits, radix: 16), value <= 0x10FFFF
                    else { throw error(at: escapeStart, "invalid escape sequence") }
                    index += 1
                    scalar = value
                } else {
                    scalar = try readHexEscape(count: 4, escapeStart: escapeStart)
                }
            case UInt8(ascii: "\r"):
                if peek() == UInt8(ascii: "\n") { index += 1 }
                continue  // line continuation
            case UInt8(ascii: "\n"):
                continue  // line continuation
            case UInt8(ascii: "1")...UInt8(ascii: "9"), UInt8(ascii: "0"):
                throw error(at: escapeStart, "invalid escape sequence")
            default:
                // JavaScript keeps the character itself for any other escape: \' \" \\ \/ \q ...
                flushSurrogate(&utf8, &pendingHighSurrogate)
                utf8.append(escape)
                continue
            }
            guard let value = scalar else { continue }
            if (0xD800...0xDBFF).contains(value) {
                flushSurrogate(&utf8, &pendingHighSurrogate)
                pendingHighSurrogate = value
                continue
            }
            var resolved = value
            if (0xDC00...0xDFFF).contains(value) {
                if let high = pendingHighSurrogate {
                    resolved = 0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00)
                    pendingHighSurrogate = nil
                } else {
                    resolved = 0xFFFD
                }
            } else {
                flushSurrogate(&utf8, &pendingHighSurrogate)
            }
            let unicodeScalar = Unicode.Scalar(resolved) ?? "\u{FFFD}"
            utf8.append(contentsOf: Array(String(Character(unicodeScalar)).utf8))
        }
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw error(at: start, "string is not valid UTF-8")
        }
        return string
    }

    private mutating func readHexEscape(count: Int, escapeStart: Int) throws(ConfigError) -> UInt32 {
        guard index + count <= bytes.count, bytes[index..<index + count].allSatisfy(Self.isHexDigit),
            let value = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16)
        else { throw error(at: escapeStart, "invalid escape sequence") }
        index += count
        return value
    }

    // MARK: Trivia and tokens

    private mutating func skipTrivia() throws(ConfigError) {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C:
                index += 1
            case UInt8(ascii: "/"):
                if peek(offset: 1) == UInt8(ascii: "/") {
                    while let next = peek(), next != UInt8(ascii: "\n") { index += 1 }
                } else if peek(offset: 1) == UInt8(ascii: "*") {
                    let start = index
                    index += 2
                    while true {
                        guard let next = peek() else { throw error(at: start, "unterminated comment") }
                        if next == UInt8(ascii: "*") && peek(offset: 1) == UInt8(ascii: "/") {
                            index += 2
                            break
                        }
                        index += 1
                    }
                } else {
                    return
                }
            default:
                return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ expected: String) throws(ConfigError) {
        try skipTrivia()
        guard peek() == byte else { throw unexpected(expected) }
        index += 1
    }

    private mutating func expectIdentifier(_ expected: String) throws(ConfigError) -> String {
        guard let byte = peek(), Self.isIdentifierStart(byte) else { throw unexpected(expected) }
        return readIdentifier()
    }

    private mutating func readIdentifier() -> String {
        readWhile(Self.isIdentifierPart)
    }

    private mutating func readWhile(_ predicate: (UInt8) -> Bool) -> String {
        let start = index
        while let byte = peek(), predicate(byte) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func peek(offset: Int = 0) -> UInt8? {
        let position = index + offset
        return position < bytes.count ? bytes[position] : nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "f"))
    }
    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "$")
    }
    private static func isIdentifierPart(_ byte: UInt8) -> Bool { isIdentifierStart(byte) || isDigit(byte) }

    // MARK: Errors

    /// `expected X but found Y` at the current position.
    private func unexpected(_ expected: String) -> ConfigError {
        error(at: index, "expected \(expected) but found \(describeToken(at: index))")
    }

    private func error(at offset: Int, _ message: String) -> ConfigError {
        let (line, column) = position(of: offset)
        return ConfigError(source: source, line: line, column: column, message: message)
    }

    /// The 1-based line and column (in Unicode scalars) of a byte offset.
    private func position(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes[0..<min(max(offset, 0), bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) && line == 1 { column = max(1, column - 1) }
        return (line, column)
    }

    /// A short rendering of what is at `offset`, for error messages.
    private func describeToken(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of file" }
        let byte = bytes[offset]
        if Self.isIdentifierPart(byte) {
            var end = offset
            while end < bytes.count, end - offset < 24, Self.isIdentifierPart(bytes[end]) { end += 1 }
            return "'\(String(decoding: bytes[offset..<end], as: UTF8.self))'"
        }
        switch byte {
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"): return "end of line"
        case 0x20...0x7E: return "'\(Character(Unicode.Scalar(byte)))'"
        case 0x00...0x1F, 0x7F: return "control character U+\(hex4(UInt32(byte)))"
        default:
            // Decode one scalar for a readable message; invalid UTF-8 reports the byte.
            var end = offset + 1
            while end < bytes.count, end - offset < 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
            if let text = String(validating: bytes[offset..<end], as: UTF8.self), let scalar = text.unicodeScalars.first
            {
                return "'\(text)' (U+\(hex4(scalar.value)))"
            }
            return "byte 0x\(String(byte, radix: 16, uppercase: true)) (invalid UTF-8)"
        }
    }

    private func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
