import NIOCore
import PushinatorJSON
import PushinatorMessagePack
import Testing

/// Vectors from the MessagePack spec (<https://github.com/msgpack/msgpack/blob/master/spec.md>): every format
/// family at the edges of its size classes, in the smallest form, as @msgpack/msgpack and notepack.io write them.
@Suite struct MessagePackVectorTests {
    static func hex(_ text: String) -> [UInt8] {
        let digits = text.filter { !$0.isWhitespace }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            bytes.append(UInt8(digits[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static func encode(_ value: MessagePackValue) -> [UInt8] { Array(buffer: value.encoded) }

    static let integers: [(Int64, String)] = [
        (0, "00"), (1, "01"), (127, "7f"), (128, "cc 80"), (255, "cc ff"), (256, "cd 0100"), (65535, "cd ffff"),
        (65536, "ce 00010000"), (4_294_967_295, "ce ffffffff"), (4_294_967_296, "cf 0000000100000000"),
        (Int64.max, "cf 7fffffffffffffff"), (-1, "ff"), (-32, "e0"), (-33, "d0 df"), (-128, "d0 80"),
        (-129, "d1 ff7f"), (-32768, "d1 8000"), (-32769, "d2 ffff7fff"), (-2_147_483_648, "d2 80000000"),
        (-2_147_483_649, "d3 ffffffff7fffffff"), (Int64.min, "d3 8000000000000000"),
    ]

    @Test(arguments: integers)
    func integerTakesItsSmallestForm(value: Int64, bytes: String) throws {
        #expect(Self.encode(.int(value)) == Self.hex(bytes))
        #expect(try MessagePackDecoder().decode(Self.hex(bytes)) == .int(value))
    }

    @Test func everyIntegerWidthDecodesToTheSameValue() throws {
        let forms = ["05", "cc 05", "cd 0005", "ce 00000005", "cf 0000000000000005", "d0 05", "d1 0005", "d2 00000005",
            "d3 0000000000000005"]
        for form in forms { #expect(try MessagePackDecoder().decode(Self.hex(form)) == .int(5), "\(form)") }
        #expect(try MessagePackDecoder().decode(Self.hex("cf ffffffffffffffff")) == .uint(UInt64.max))
        #expect(Self.encode(.uint(UInt64.max)) == Self.hex("cf ffffffffffffffff"))
        #expect(try MessagePackDecoder().decode(Self.hex("d0 ff")) == .int(-1))
    }

    @Test func nilBooleansAndFloats() throws {
        #expect(Self.encode(.nil) == [0xc0])
        #expect(Self.encode(.bool(false)) == [0xc2])
        #expect(Self.encode(.bool(true)) == [0xc3])
        #expect(Self.encode(.float64(1.5)) == Self.hex("cb 3ff8000000000000"))
        #expect(Self.encode(.float32(1.5)) == Self.hex("ca 3fc00000"))
        #expect(try MessagePackDecoder().decode(Self.hex("ca 3fc00000")) == .float32(1.5))
        #expect(try MessagePackDecoder().decode(Self.hex("cb 7ff8000000000000")) == .float64(.nan))
    }

    @Test func stringHeaders() throws {
        let cases: [(Int, String)] = [(0, "a0"), (31, "bf"), (32, "d9 20"), (255, "d9 ff"), (256, "da 0100"),
            (65535, "da ffff"), (65536, "db 00010000")]
        for (length, header) in cases {
            let text = String(repeating: "a", count: length)
            let encoded = Self.encode(.string(text))
            #expect(encoded == Self.hex(header) + Array(text.utf8), "length \(length)")
            #expect(try MessagePackDecoder().decode(encoded) == .string(text))
        }
        #expect(Self.encode(.string("é")) == Self.hex("a2 c3a9"))
    }

    @Test func binaryHeaders() throws {
        let cases: [(Int, String)] = [(0, "c4 00"), (255, "c4 ff"), (256, "c5 0100"), (65536, "c6 00010000")]
        for (length, header) in cases {
            let bytes = [UInt8](repeating: 7, count: length)
            let encoded = Self.encode(.binary(bytes))
            #expect(encoded == Self.hex(header) + bytes, "length \(length)")
            #expect(try MessagePackDecoder().decode(encoded) == .binary(bytes))
        }
    }

    @Test func arrayAndMapHeaders() throws {
        let cases: [(Int, String, String)] = [(0, "90", "80"), (15, "9f", "8f"), (16, "dc 0010", "de 0010"),
            (65536, "dd 00010000", "df 00010000")]
        for (count, arrayHeader, mapHeader) in cases {
            let array = MessagePackValue.array(Array(repeating: .nil, count: count))
            #expect(Self.encode(array) == Self.hex(arrayHeader) + [UInt8](repeating: 0xc0, count: count))
            #expect(try MessagePackDecoder().decode(Self.encode(array)) == array)
            let map = MessagePackValue.map(Array(repeating: (key: .int(1), value: .nil), count: count))
            #expect(Self.encode(map) == Self.hex(mapHeader) + Array([UInt8]([0x01, 0xc0]).repeated(count)))
            #expect(try MessagePackDecoder().decode(Self.encode(map)) == map)
        }
    }

    @Test func extensionHeaders() throws {
        let cases: [(Int, String)] = [(1, "d4"), (2, "d5"), (4, "d6"), (8, "d7"), (16, "d8"), (0, "c7 00"),
            (3, "c7 03"), (256, "c8 0100"), (65536, "c9 00010000")]
        for (length, header) in cases {
            let data = [UInt8](repeating: 9, count: length)
            let value = MessagePackValue.ext(type: 5, data: ByteBuffer(bytes: data))
            #expect(Self.encode(value) == Self.hex(header) + [0x05] + data, "length \(length)")
            #expect(try MessagePackDecoder().decode(Self.encode(value)) == value)
        }
    }

    /// The spec's own example: {"compact": true, "schema": 0}.
    @Test func specExample() throws {
        let bytes = Self.hex("82 a7 636f6d70616374 c3 a6 736368656d61 00")
        let value = MessagePackValue.map(["compact": .bool(true), "schema": .int(0)])
        #expect(Self.encode(value) == bytes)
        #expect(try MessagePackDecoder().decode(bytes) == value)
        let json: JSONValue = ["compact": true, "schema": 0]
        #expect(Array(buffer: json.messagePack) == bytes)
        #expect(try JSONValue(messagePack: ByteBuffer(bytes: bytes)) == json)
    }
}

extension Array {
    func repeated(_ times: Int) -> [Element] { Array((0..<times).map { _ in self }.joined()) }
}
