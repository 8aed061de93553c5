import NIOCore
import PushinatorJSON
import Testing

@Suite("JSONParser")
struct JSONParserTests {
    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("0", .integer(0)),
        ("-0", .integer(0)),
        ("42", .integer(42)),
        ("-17", .integer(-17)),
        ("9223372036854775807", .integer(.max)),
        ("-9223372036854775808", .integer(.min)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("1.5", .double(1.5)),
        ("-0.25", .double(-0.25)),
        ("1e3", .double(1000)),
        ("1E+2", .double(100)),
        ("2.5e-3", .double(0.0025)),
        ("\"\"", .string("")),
        ("\"héllo €𝄞\"", .string("héllo €𝄞")),
        ("[]", .array([])),
        ("{}", .object([:])),
        (" \t\r\n[1, \"a\" , null ]\n", .array([1, "a", nil])),
        ("{\"a\":{\"b\":[true]}}", JSONValue.object(["a": ["b": [true]]])),
    ])
    func parsesValues(text: String, expected: JSONValue) throws {
        #expect(try JSONValue(parsing: text) == expected)
    }

    @Test func keepsObjectKeyOrder() throws {
        let value = try JSONValue(parsing: #"{"z":1,"a":2,"m":3}"#)
        #expect(value.object?.keys == ["z", "a", "m"])
    }

    @Test func repeatedKeyKeepsLastValueAtFirstPosition() throws {
        let value = try JSONValue(parsing: #"{"a":1,"b":2,"a":3}"#)
        #expect(value.object?.keys == ["a", "b"])
        #expect(value["a"] == 3)
    }

    @Test func repeatedKeysInLargeObjects() throws {
        let members = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let value = try JSONValue(parsing: "{\(members),\"k3\":99,\"k39\":100}")
        #expect(value.object?.count == 40)
        #expect(value["k3"] == 99)
        #expect(value["k39"] == 100)
    }

    @Test(arguments: [
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""\u0041\u00e9\u20AC""#, "Aé€"),
        (#""\ud834\udd1e""#, "𝄞"),
        (#""\ud834x""#, "\u{FFFD}x"),
        (#""\udd1e""#, "\u{FFFD}"),
        (#""\ud834\u0041""#, "\u{FFFD}A"),
        (#""a\u0000b""#, "a\u{0}b"),
    ])
    func decodesEscapes(text: String, expected: String) throws {
        #expect(try JSONValue(parsing: text) == .string(expected))
    }

    @Test(arguments: [
        ("", "unexpected end of input at offset 0"),
        ("   ", "unexpected end of input at offset 3"),
        ("tru", "unexpected end of input at offset 3"),
        ("trux", "unexpected character 'x' at offset 3"),
        ("[1,]", "unexpected character ']' at offset 3"),
        ("[1 2]", "unexpected character '2' at offset 3"),
        ("{\"a\" 1}", "unexpected character '1' at offset 5"),
        ("{a:1}", "unexpected character 'a' at offset 1"),
        ("{\"a\":1,}", "unexpected character '}' at offset 7"),
        ("01", "leading zeros are not allowed at offset 0"),
        ("-01", "leading zeros are not allowed at offset 1"),
        ("1.", "unexpected end of input at offset 2"),
        ("1.e3", "unexpected character 'e' at offset 2"),
        ("1e", "unexpected end of input at offset 2"),
        ("-", "unexpected end of input at offset 1"),
        ("+1", "unexpected character '+' at offset 0"),
        (".5", "unexpected character '.' at offset 0"),
        ("NaN", "unexpected character 'N' at offset 0"),
        ("Infinity", "unexpected character 'I' at offset 0"),
        ("-Infinity", "unexpected character 'I' at offset 1"),
        ("1 2", "trailing characters after the JSON value at offset 2"),
        ("{}x", "trailing characters after the JSON value at offset 2"),
        ("\"abc", "unterminated string at offset 0"),
        ("[\"abc\\", "unterminated string at offset 5"),
        ("\"a\nb\"", "unescaped control character 0x0A in string at offset 2"),
        ("\"\\x\"", "invalid escape sequence '\\x' at offset 1"),
        ("\"\\u12G4\"", "invalid \\u escape: 'G' at offset 5"),
        ("'a'", "unexpected character ''' at offset 0"),
        ("[", "unexpected end of input at offset 1"),
        ("\u{FEFF}1", "unexpected character 0xEF at offset 0"),
    ])
    func rejectsMalformedInput(text: String, message: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        do {
            _ = try JSONValue(parsing: text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x22]
        #expect(throws: JSONParseError("invalid UTF-8 in string", offset: 0)) { try JSONValue(parsing: bytes) }
    }

    @Test func rejectsInvalidUTF8AfterEscape() {
        let bytes: [UInt8] = [0x22, 0x5C, 0x6E, 0xC3, 0x22]
        #expect(throws: JSONParseError("invalid UTF-8 in string", offset: 0)) { try JSONValue(parsing: bytes) }
    }

    @Test func limitsNestingDepth() throws {
        let deep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(throws: JSONParseError("nesting deeper than 128 levels", offset: 128)) {
            try JSONValue(parsing: deep)
        }
        let allowed = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        _ = try JSONValue(parsing: allowed)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: "[[[]]]", options: .init(maxDepth: 2)) }
    }

    @Test func parsesByteBufferAndByteArray() throws {
        var buffer = ByteBuffer(string: "xx[1,2]")
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try JSONValue(parsing: buffer) == [1, 2])
        #expect(buffer.readableBytes == 5)
        #expect(try JSONValue(parsing: Array("{\"a\":1}".utf8)) == ["a": 1])
        #expect(try JSONValue(parsing: ByteBuffer(string: "true").readableBytesView) == true)
    }

    @Test func readsValueEmbeddedInBuffer() throws {
        var buffer = ByteBuffer(string: "42/nsp,12[\"ev\",1] tail")
        buffer.moveReaderIndex(forwardBy: 9)
        #expect(try buffer.readJSONValue() == ["ev", 1])
        #expect(buffer.readString(length: buffer.readableBytes) == " tail")
    }

    @Test func readJSONValueLeavesReaderIndexOnError() {
        var buffer = ByteBuffer(string: "[1,")
        #expect(throws: JSONParseError("unexpected end of input", offset: 3)) { try buffer.readJSONValue() }
        #expect(buffer.readableBytes == 3)
    }

    @Test func parsePrefixReportsLength() throws {
        let (value, length) = try Array(" {\"a\":[1]}rest".utf8).withUnsafeBytes { raw in
            try JSONParser().parsePrefix(raw)
        }
        #expect(value == ["a": [1]])
        #expect(length == 10)
    }

    @Test func hugeExponentBecomesInfinity() throws {
        #expect(try JSONValue(parsing: "1e400") == .double(.infinity))
    }
}
