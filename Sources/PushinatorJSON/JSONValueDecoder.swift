#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// A `Decoder` that reads a ``JSONValue`` directly.
///
/// Numbers convert when exact (`2.0` decodes as `Int`); `Data` decodes from ``JSONValue/binary(_:)``, from a
/// base64 string, or from an array of bytes.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw Self.mismatch([String: JSONValue].self, value, codingPath)
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let elements): return UnkeyedContainer(elements: elements, codingPath: codingPath)
        case .binary(let bytes):
            return UnkeyedContainer(elements: bytes.readableBytesView.map { .integer(Int($0)) }, codingPath: codingPath)
        default: throw Self.mismatch([JSONValue].self, value, codingPath)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath)
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(value.kindName)"))
    }

    static func decodeValue<T: Decodable>(_ type: T.Type, from value: JSONValue, path: [any CodingKey]) throws -> T {
        if type == JSONValue.self { return value as! T }
        if type == Data.self {
            switch value {
            case .binary(let bytes): return Data(bytes.readableBytesView) as! T
            case .string(let text):
                guard let bytes = Base64.decode(text) else {
                    throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "invalid base64"))
                }
                return Data(bytes.readableBytesView) as! T
            default: break
            }
        }
        if type == ByteBuffer.self, case .binary(let bytes) = value { return bytes as! T }
        return try T(from: JSONValueDecoder(value: value, codingPath: path))
    }

    static func decodeInteger<T: FixedWidthInteger>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
        switch value {
        case .integer(let integer):
            if let result = T(exactly: integer) { return result }
        case .double(let double):
            if let result = T(exactly: double) { return result }
        default:
            throw mismatch(type, value, path)
        }
        throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "number does not fit in \(type)"))
    }

    static func decodeDouble(_ value: JSONValue, _ path: [any CodingKey]) throws -> Double {
        guard let double = value.double else { throw mismatch(Double.self, value, path) }
        return double
    }

    static func decodeString(_ value: JSONValue, _ path: [any CodingKey]) throws -> String {
        guard case .string(let string) = value else { throw mismatch(String.self, value, path) }
        return string
    }

    static func decodeBool(_ value: JSONValue, _ path: [any CodingKey]) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(Bool.self, value, path) }
        return flag
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let object: JSONObject
        let codingPath: [any CodingKey]

        var allKeys: [Key] { object.members.compactMap { Key(stringValue: $0.key) } }

        func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

        private func value(for key: Key) throws -> JSONValue {
            guard let value = object[key.stringValue] else {
                throw DecodingError.keyNotFound(
                    key,
                    .init(codingPath: codingPath, debugDescription: "no value for key \"\(key.stringValue)\"")
                )
            }
            return value
        }

        func decodeNil(forKey key: Key) throws -> Bool { try value(for: key).isNull }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            try decodeBool(value(for: key), codingPath + [key])
        }
        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            try decodeString(value(for: key), codingPath + [key])
        }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            try decodeDouble(value(for: key), codingPath + [key])
        }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
            Float(try decodeDouble(value(for: key), codingPath + [key]))
        }
        func decode<T: FixedWidthInteger & Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try decodeInteger(type, value(for: key), codingPath + [key])
        }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
            try decodeInteger(type, value(for: key), codingPath + [key])
        }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try decodeValue(type, from: value(for: key), path: codingPath + [key])
        }

        func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type,
            forKey key: Key
        ) throws -> KeyedDecodingContainer<NestedKey> {
            try JSONValueDecoder(value: value(for: key), codingPath: codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try JSONValueDecoder(value: value(for: key), codingPath: codingPath + [key]).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            JSONValueDecoder(value: object["super"] ?? .null, codingPath: codingPath + [JSONCodingKey("super")])
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            JSONValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
        }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let elements: [JSONValue]
        let codingPath: [any CodingKey]
        private(set) var currentIndex: Int = 0

        init(elements: [JSONValue], codingPath: [any CodingKey]) {
            self.elements = elements
            self.codingPath = codingPath
        }

        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        private var path: [any CodingKey] { codingPath + [JSONCodingKey(index: currentIndex)] }

        private mutating func next(_ type: Any.Type) throws -> JSONValue {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "unkeyed container is at end"))
            }
            defer { currentIndex += 1 }
            return elements[currentIndex]
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd else { return false }
            if elements[currentIndex].isNull {
                currentIndex += 1
                return true
            }
            return false
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool {
            let path = path
            return try decodeBool(next(type), path)
        }
        mutating func decode(_ type: String.Type) throws -> String {
            let path = path
            return try decodeString(next(type), path)
        }
        mutating func decode(_ type: Double.Type) throws -> Double {
            let path = path
            return try decodeDouble(next(type), path)
        }
        mutating func decode(_ type: Float.Type) throws -> Float {
            let path = path
            return Float(try decodeDouble(next(type), path))
        }
        mutating func decode(_ type: Int.Type) throws -> Int {
            let path = path
            return try decodeInteger(type, next(type), path)
        }
        mutating func decode<T: FixedWidthInteger & Decodable>(_ type: T.Type) throws -> T {
            let path = path
            return try decodeInteger(type, next(type), path)
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let path = path
            return try decodeValue(type, from: next(type), path: path)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type
        ) throws -> KeyedDecodingContainer<NestedKey> {
            let path = path
            return try JSONValueDecoder(value: next(JSONObject.self), codingPath: path).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let path = path
            return try JSONValueDecoder(value: next([JSONValue].self), codingPath: path).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            let path = path
            return JSONValueDecoder(value: try next(JSONValue.self), codingPath: path)
        }
    }

    struct SingleValueContainer: SingleValueDecodingContainer {
        let value: JSONValue
        let codingPath: [any CodingKey]

        func decodeNil() -> Bool { value.isNull }
        func decode(_ type: Bool.Type) throws -> Bool { try decodeBool(value, codingPath) }
        func decode(_ type: String.Type) throws -> String { try decodeString(value, codingPath) }
        func decode(_ type: Double.Type) throws -> Double { try decodeDouble(value, codingPath) }
        func decode(_ type: Float.Type) throws -> Float { Float(try decodeDouble(value, codingPath)) }
        func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type, value, codingPath) }
        func decode<T: FixedWidthInteger & Decodable>(_ type: T.Type) throws -> T {
            try decodeInteger(type, value, codingPath)
        }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type, from: value, path: codingPath) }
    }
}
