#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// A node of the value being encoded; containers hold references so that nested containers can fill them later.
final class JSONEncodingNode {
    enum Content {
        case unset
        case value(JSONValue)
        case array([JSONEncodingNode])
        case object([(key: String, node: JSONEncodingNode)])
    }

    var content: Content = .unset

    var value: JSONValue {
        switch content {
        case .unset: .object(JSONObject())  // like JSONEncoder: a type that encoded nothing is `{}`
        case .value(let value): value
        case .array(let nodes): .array(nodes.map(\.value))
        case .object(let members):
            .object(JSONObject(uncheckedUniqueMembers: members.map { ($0.key, $0.node.value) }))
        }
    }

    func child(forKey key: String) -> JSONEncodingNode {
        if case .object(var members) = content {
            if let existing = members.first(where: { $0.key == key }) { return existing.node }
            let node = JSONEncodingNode()
            content = .unset  // drop the reference so the append does not copy
            members.append((key, node))
            content = .object(members)
            return node
        }
        let node = JSONEncodingNode()
        content = .object([(key, node)])
        return node
    }

    func appendChild() -> JSONEncodingNode {
        let node = JSONEncodingNode()
        if case .array(var nodes) = content {
            content = .unset
            nodes.append(node)
            content = .array(nodes)
        } else {
            content = .array([node])
        }
        return node
    }

    func makeObject() {
        if case .object = content { return }
        content = .object([])
    }

    func makeArray() {
        if case .array = content { return }
        content = .array([])
    }

    /// Stores `value`, short-cutting the types that map straight onto a `JSONValue`.
    func store(_ value: some Encodable, codingPath: [any CodingKey]) throws {
        switch value {
        case let json as JSONValue: content = .value(json)
        case let data as Data: content = .value(.binary(ByteBuffer(bytes: data)))
        case let buffer as ByteBuffer: content = .value(.binary(buffer))
        default: try value.encode(to: JSONValueEncoder(node: self, codingPath: codingPath))
        }
    }
}

/// An `Encoder` that builds a ``JSONValue`` directly, keeping the order in which keys were encoded.
///
/// `Data` becomes ``JSONValue/binary(_:)`` (a Socket.IO attachment, base64 in plain JSON).
struct JSONValueEncoder: Encoder {
    let node: JSONEncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(node: node, codingPath: codingPath)
    }

    static func number(_ value: some BinaryInteger) -> JSONValue {
        if let integer = Int(exactly: value) { return .integer(integer) }
        return .double(Double(value))
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: JSONEncodingNode
        let codingPath: [any CodingKey]

        private func set(_ value: JSONValue, for key: Key) { node.child(forKey: key.stringValue).content = .value(value) }

        mutating func encodeNil(forKey key: Key) throws { set(.null, for: key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), for: key) }
        mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), for: key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { set(.double(value), for: key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { set(.double(Double(value)), for: key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(.integer(value), for: key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { set(number(value), for: key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { set(number(value), for: key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { set(number(value), for: key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { set(number(value), for: key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { set(number(value), for: key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { set(number(value), for: key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { set(number(value), for: key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { set(number(value), for: key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { set(number(value), for: key) }

        mutating func encode(_ value: some Encodable, forKey key: Key) throws {
            try node.child(forKey: key.stringValue).store(value, codingPath: codingPath + [key])
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type,
            forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            let child = node.child(forKey: key.stringValue)
            child.makeObject()
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = node.child(forKey: key.stringValue)
            child.makeArray()
            return UnkeyedContainer(node: child, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> any Encoder {
            JSONValueEncoder(node: node.child(forKey: "super"), codingPath: codingPath + [JSONCodingKey("super")])
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            JSONValueEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key])
        }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let node: JSONEncodingNode
        let codingPath: [any CodingKey]
        var count: Int {
            if case .array(let nodes) = node.content { return nodes.count }
            return 0
        }

        private func append(_ value: JSONValue) { node.appendChild().content = .value(value) }
        private var nextKey: JSONCodingKey { JSONCodingKey(index: count) }

        mutating func encodeNil() throws { append(.null) }
        mutating func encode(_ value: Bool) throws { append(.bool(value)) }
        mutating func encode(_ value: String) throws { append(.string(value)) }
        mutating func encode(_ value: Double) throws { append(.double(value)) }
        mutating func encode(_ value: Float) throws { append(.double(Double(value))) }
        mutating func encode(_ value: Int) throws { append(.integer(value)) }
        mutating func encode(_ value: Int8) throws { append(number(value)) }
        mutating func encode(_ value: Int16) throws { append(number(value)) }
        mutating func encode(_ value: Int32) throws { append(number(value)) }
        mutating func encode(_ value: Int64) throws { append(number(value)) }
        mutating func encode(_ value: UInt) throws { append(number(value)) }
        mutating func encode(_ value: UInt8) throws { append(number(value)) }
        mutating func encode(_ value: UInt16) throws { append(number(value)) }
        mutating func encode(_ value: UInt32) throws { append(number(value)) }
        mutating func encode(_ value: UInt64) throws { append(number(value)) }

        mutating func encode(_ value: some Encodable) throws {
            let key = nextKey
            try node.appendChild().store(value, codingPath: codingPath + [key])
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type
        ) -> KeyedEncodingContainer<NestedKey> {
            let key = nextKey
            let child = node.appendChild()
            child.makeObject()
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let key = nextKey
            let child = node.appendChild()
            child.makeArray()
            return UnkeyedContainer(node: child, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> any Encoder {
            let key = nextKey
            return JSONValueEncoder(node: node.appendChild(), codingPath: codingPath + [key])
        }
    }

    struct SingleValueContainer: SingleValueEncodingContainer {
        let node: JSONEncodingNode
        let codingPath: [any CodingKey]

        mutating func encodeNil() throws { node.content = .value(.null) }
        mutating func encode(_ value: Bool) throws { node.content = .value(.bool(value)) }
        mutating func encode(_ value: String) throws { node.content = .value(.string(value)) }
        mutating func encode(_ value: Double) throws { node.content = .value(.double(value)) }
        mutating func encode(_ value: Float) throws { node.content = .value(.double(Double(value))) }
        mutating func encode(_ value: Int) throws { node.content = .value(.integer(value)) }
        mutating func encode(_ value: Int8) throws { node.content = .value(number(value)) }
        mutating func encode(_ value: Int16) throws { node.content = .value(number(value)) }
        mutating func encode(_ value: Int32) throws { node.content = .value(number(value)) }
        mutating func encode(_ value: Int64) throws { node.content = .value(number(value)) }
        mutating func encode(_ value: UInt) throws { node.content = .value(number(value)) }
        mutating func encode(_ value: UInt8) throws { node.content = .value(number(value)) }
        mutating func encode(_ value: UInt16) throws { node.content = .value(number(value)) }
        mutating func encode(_ value: UInt32) throws { node.content = .value(number(value)) }
        mutating func encode(_ value: UInt64) throws { node.content = .value(number(value)) }
        mutating func encode(_ value: some Encodable) throws { try node.store(value, codingPath: codingPath) }
    }
}

/// A coding key made from a string or an array index.
struct JSONCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(_ string: String) {
        self.stringValue = string
        self.intValue = nil
    }

    init(index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }

    init?(intValue: Int) { self.init(index: intValue) }
}
