import NIOCore
import PushinatorJSON
import PushinatorMessagePack
import Testing

/// JSONValue to MessagePack and back, with the shapes socket.io's PostgreSQL adapter and emitter store in
/// `socket_io_attachments`, as @msgpack/msgpack ~2.8 encodes them (assembled by hand from its encoding rules: the
/// smallest integer and length forms, float 64 for non-integers, bin for a Buffer, keys in insertion order).
@Suite struct MessagePackJSONTests {
    static let hex = MessagePackVectorTests.hex

    static func ascii(_ text: String) -> String { text.utf8.map { String($0, radix: 16) }.joined() }

    /// `adapter.broadcast({type: 2, data: ["event", Buffer.from([1, 2, 3])], nsp: "/"}, {rooms: {"room1"}})`:
    /// the BROADCAST ClusterMessage with its binary, as `encode(message)` writes it (key order: the message
    /// literal's, then `uid` and `nsp` appended by `publishAndReturnOffset`).
    static let broadcastWithBinary = hex(
        "84 a4\(ascii("type")) 03 a4\(ascii("data")) 82"
            + " a6\(ascii("packet")) 83 a4\(ascii("type")) 02 a4\(ascii("data")) 92 a5\(ascii("event")) c4 03 010203"
            + " a3\(ascii("nsp")) a1\(ascii("/"))"
            + " a4\(ascii("opts")) 83 a5\(ascii("rooms")) 91 a5\(ascii("room1")) a6\(ascii("except")) 90"
            + " a5\(ascii("flags")) 80"
            + " a3\(ascii("uid")) a6\(ascii("b1c2d3")) a3\(ascii("nsp")) a1\(ascii("/"))"
    )

    static let broadcastJSON: JSONValue = [
        "type": 3,
        "data": [
            "packet": ["type": 2, "data": ["event", .binary(ByteBuffer(bytes: [1, 2, 3]))], "nsp": "/"],
            "opts": ["rooms": ["room1"], "except": [], "flags": [:]],
        ],
        "uid": "b1c2d3",
        "nsp": "/",
    ]

    @Test func broadcastWithBinaryMatchesTheNodeEncoder() throws {
        #expect(Array(buffer: Self.broadcastJSON.messagePack) == Self.broadcastWithBinary)
        #expect(Array(buffer: MessagePackValue(Self.broadcastJSON).encoded) == Self.broadcastWithBinary)
        #expect(try JSONValue(messagePack: ByteBuffer(bytes: Self.broadcastWithBinary)) == Self.broadcastJSON)
    }

    /// The postgres emitter's `io.to("room1").emit("hello", 1.5, -7, null, true)` (uid "emitter", no `nsp`).
    @Test func emitterBroadcast() throws {
        let bytes = Self.hex(
            "83 a4\(Self.ascii("type")) 03 a4\(Self.ascii("data")) 82"
                + " a6\(Self.ascii("packet")) 83 a4\(Self.ascii("type")) 02 a4\(Self.ascii("data")) 95"
                + " a5\(Self.ascii("hello")) cb 3ff8000000000000 f9 c0 c3 a3\(Self.ascii("nsp")) a1\(Self.ascii("/"))"
                + " a4\(Self.ascii("opts")) 83 a5\(Self.ascii("rooms")) 91 a5\(Self.ascii("room1"))"
                + " a5\(Self.ascii("flags")) 80 a6\(Self.ascii("except")) 90"
                + " a3\(Self.ascii("uid")) a7\(Self.ascii("emitter"))"
        )
        let json: JSONValue = [
            "type": 3,
            "data": [
                "packet": ["type": 2, "data": ["hello", 1.5, -7, nil, true], "nsp": "/"],
                "opts": ["rooms": ["room1"], "flags": [:], "except": []],
            ],
            "uid": "emitter",
        ]
        #expect(try JSONValue(messagePack: ByteBuffer(bytes: bytes)) == json)
        #expect(Array(buffer: json.messagePack) == bytes)
    }

    @Test func numbersAsJavaScriptSeesThem() throws {
        #expect(try JSONValue(messagePack: .uint(UInt64.max)) == .double(Double(UInt64.max)))
        #expect(try JSONValue(messagePack: .float32(0.5)) == .double(0.5))
        #expect(try JSONValue(messagePack: .int(-3)) == .integer(-3))
    }

    @Test func mapKeys() throws {
        let integerKeys = MessagePackValue.map([(key: .int(1), value: .string("a")), (key: .int(-2), value: .nil)])
        #expect(try JSONValue(messagePack: integerKeys) == ["1": "a", "-2": nil])
        let repeated = MessagePackValue.map([(key: .string("a"), value: .int(1)), (key: .string("b"), value: .int(2)),
            (key: .string("a"), value: .int(3))])
        #expect(try JSONValue(messagePack: repeated) == ["a": 3, "b": 2])
        #expect(throws: MessagePackError(.keyWithoutJSONForm, offset: 0)) {
            try JSONValue(messagePack: .map([(key: .array([]), value: .nil)]))
        }
    }

    static let timestamps: [(String, JSONValue)] = [
        ("d6 ff 00000000", "1970-01-01T00:00:00.000Z"),
        ("d6 ff 60c69c00", "2021-06-14T00:00:00.000Z"),
        ("d7 ff 1d53530060c69c00", "2021-06-14T00:00:00.123Z"),
        ("c7 0c ff 00000000ffffffffffffffff", "1969-12-31T23:59:59.000Z"),
        ("c7 0c ff 000000000000003afff44180", "+010000-01-01T00:00:00.000Z"),
        ("c7 0c ff 00000000fffffff184aa5080", "-000001-01-01T00:00:00.000Z"),
        ("c7 0c ff 00000000000007dba8218001", nil),
    ]

    /// @msgpack/msgpack decodes the timestamp extension to a `Date`; `JSON.stringify` writes its ISO text.
    @Test(arguments: timestamps)
    func timestampsBecomeWhatJSONStringifyWrites(bytes: String, json: JSONValue) throws {
        let value = try JSONValue(messagePack: ByteBuffer(bytes: Self.hex(bytes)))
        #expect(value == json, "\(value)")
    }

    @Test func otherExtensionsHaveNoJSONForm() {
        #expect(throws: MessagePackError(.extensionWithoutJSONForm, offset: 0)) {
            try JSONValue(messagePack: ByteBuffer(bytes: Self.hex("d4 05 00")))
        }
        #expect(throws: MessagePackError(.extensionWithoutJSONForm, offset: 0)) {
            try JSONValue(messagePack: ByteBuffer(bytes: Self.hex("d5 ff 0000")))  // a timestamp of 2 bytes
        }
    }
}
