import NIOCore
import PushinatorJSON
import Testing

@Suite("JSON writer")
struct JSONWriterTests {
    @Test(arguments: [
        (JSONValue.null, "null"),
        (.bool(true), "true"),
        (.bool(false), "false"),
        (.integer(0), "0"),
        (.integer(7), "7"),
        (.integer(-1234567), "-1234567"),
        (.integer(.max), "9223372036854775807"),
        (.integer(.min), "-9223372036854775808"),
        (.string("hé/llo"), #""hé/llo""#),
        (.array([]), "[]"),
        (.object([:]), "{}"),
        (JSONValue.array([1, "a", nil, [true]]), #"[1,"a",null,[true]]"#),
        (JSONValue.object(["b": 1, "a": ["x": "y"]]), #"{"b":1,"a":{"x":"y"}}"#),
    ])
    func writesCompactJSON(value: JSONValue, expected: String) {
        #expect(value.jsonString == expected)
        #expect(value.description == expected)
    }

    @Test func escapesLikeJSONStringify() {
        let value = JSONValue.string("\"\\\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F}/€𝄞\u{2028}")
        #expect(value.jsonString == #""\"\\\b\f\n\r\t\u0000\u001f"# + "\u{7F}/€𝄞\u{2028}\"")
    }

    @Test func escapesKeys() {
        #expect(JSONValue.object(["a\"b": 1]).jsonString == #"{"a\"b":1}"#)
    }

    @Test(arguments: [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-3.0, "-3"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-0.25, "-0.25"),
        (123.456, "123.456"),
        (1e21, "1e+21"),
        (1.5e21, "1.5e+21"),
        (1e20, "100000000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (9007199254740993.0, "9007199254740992"),
        (1e-6, "0.000001"),
        (1.5e-6, "0.0000015"),
        (1e-7, "1e-7"),
        (-1.25e-7, "-1.25e-7"),
        (Double.leastNonzeroMagnitude, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (Double.infinity, "null"),
        (-Double.infinity, "null"),
        (Double.nan, "null"),
        (0.001, "0.001"),
        (1e16, "10000000000000000"),
        (12345.6789e-10, "0.00000123456789"),
    ])
    func formatsDoublesLikeJavaScript(value: Double, expected: String) {
        #expect(JSONValue.double(value).jsonString == expected)
    }

    @Test func writesBinaryAsBase64String() {
        #expect(JSONValue.binary(ByteBuffer(bytes: [1, 2, 3, 4])).jsonString == #""AQIDBA==""#)
    }

    @Test func writesIntoByteBufferAfterExistingBytes() {
        var buffer = ByteBuffer(string: "42")
        JSONValue.array(["hello", 1.5, .binary(ByteBuffer(bytes: [0xFF]))]).write(to: &buffer)
        #expect(String(buffer: buffer) == #"42["hello",1.5,"/w=="]"#)
    }

    @Test func writesIntoByteArray() {
        var bytes: [UInt8] = [0x34]
        JSONValue.object(["k": .binary(ByteBuffer(bytes: [1, 2]))]).write(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #"4{"k":"AQI="}"#)
    }

    @Test func roundTripsThroughParser() throws {
        let text = #"{"a":[1,-2.5,"x\ny",true,null,{"b":{}}],"c":"€","d":1e+21}"#
        #expect(try JSONValue(parsing: text).jsonString == text)
    }
}
