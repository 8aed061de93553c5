import Foundation
import NIOCore
import PushinatorJSON
import Testing

@Suite("JSONValue Codable bridging")
struct JSONCodableTests {
    struct Message: Codable, Equatable {
        var room: String
        var id: Int
        var tags: [String]
        var score: Double?
        var nested: Nested

        struct Nested: Codable, Equatable {
            var flag: Bool
            var small: UInt8
        }
    }

    enum Kind: String, Codable { case chat, push }

    @Test func encodesInDeclarationOrder() throws {
        let message = Message(room: "r", id: 5, tags: ["a"], score: nil, nested: .init(flag: true, small: 7))
        let value = try JSONValue(encoding: message)
        #expect(value.jsonString == #"{"room":"r","id":5,"tags":["a"],"nested":{"flag":true,"small":7}}"#)
    }

    @Test func roundTripsThroughDecode() throws {
        let message = Message(room: "r", id: -5, tags: ["a", "b"], score: 2.5, nested: .init(flag: false, small: 255))
        #expect(try JSONValue(encoding: message).decode(as: Message.self) == message)
    }

    @Test func decodesFromParsedText() throws {
        let value = try JSONValue(parsing: #"{"nested":{"small":1.0,"flag":true},"id":3,"tags":[],"room":"x"}"#)
        let message: Message = try value.decode()
        #expect(message == Message(room: "x", id: 3, tags: [], score: nil, nested: .init(flag: true, small: 1)))
    }

    @Test func encodesScalarsAndEnums() throws {
        #expect(try JSONValue(encoding: 3) == 3)
        #expect(try JSONValue(encoding: "s") == "s")
        #expect(try JSONValue(encoding: Kind.push) == "push")
        #expect(try JSONValue(encoding: [1.5, 2]) == [1.5, 2.0])
        #expect(try JSONValue(encoding: UInt64.max) == .double(Double(UInt64.max)))
        #expect(try JSONValue(encoding: Optional<Int>.none) == .null)
        #expect(try JSONValue(encoding: ["k": [1]]) == ["k": [1]])
    }

    @Test func dataBecomesBinary() throws {
        let value = try JSONValue(encoding: ["blob": Data([1, 2, 3])])
        #expect(value == ["blob": .binary(ByteBuffer(bytes: [1, 2, 3]))])
        #expect(try value.decode(as: [String: Data].self) == ["blob": Data([1, 2, 3])])
        #expect(try JSONValue.string("AQID").decode(as: Data.self) == Data([1, 2, 3]))
        #expect(try JSONValue.array([1, 2]).decode(as: Data.self) == Data([1, 2]))
    }

    @Test func reportsTypeMismatch() {
        #expect(throws: DecodingError.self) { try JSONValue.string("x").decode(as: Int.self) }
        #expect(throws: DecodingError.self) { try JSONValue.double(1.5).decode(as: Int.self) }
        #expect(throws: DecodingError.self) { try JSONValue.integer(300).decode(as: UInt8.self) }
        #expect(throws: DecodingError.self) { try JSONValue.object([:]).decode(as: Message.self) }
    }

    @Test func jsonValueDecodesItself() throws {
        let value: JSONValue = ["a": [1, 2.5, "x", nil, true]]
        #expect(try value.decode(as: JSONValue.self) == value)
        #expect(try JSONValue(encoding: value) == value)
    }

    @Test func bridgesWithFoundationCoders() throws {
        let value: JSONValue = ["a": [1, 2.5, "x", nil, true]]
        let data = try JSONEncoder().encode(value)
        #expect(try JSONValue(parsing: Array(data)) == value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
    }
}
