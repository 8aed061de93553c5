extension JSONValue: Codable {
    /// Decodes any JSON value.
    ///
    /// From this module's own decoder the value is taken as is; from other decoders (such as Foundation's
    /// `JSONDecoder`) objects lose their key order, because `Decoder` does not expose it.
    /// - Parameter decoder: The decoder to read from.
    public init(from decoder: any Decoder) throws {
        if let direct = decoder as? JSONValueDecoder {
            self = direct.value
            return
        }
        if let container = try? decoder.container(keyedBy: JSONCodingKey.self) {
            var object = JSONObject()
            for key in container.allKeys { object[key.stringValue] = try container.decode(JSONValue.self, forKey: key) }
            self = .object(object)
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !container.isAtEnd { elements.append(try container.decode(JSONValue.self)) }
            self = .array(elements)
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let integer = try? container.decode(Int.self) {
            self = .integer(integer)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    /// Encodes this value; objects keep their key order with encoders that do.
    /// - Parameter encoder: The encoder to write to.
    public func encode(to encoder: any Encoder) throws {
        if let direct = encoder as? JSONValueEncoder {
            direct.node.content = .value(self)
            return
        }
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let flag):
            var container = encoder.singleValueContainer()
            try container.encode(flag)
        case .integer(let integer):
            var container = encoder.singleValueContainer()
            try container.encode(integer)
        case .double(let double):
            var container = encoder.singleValueContainer()
            try container.encode(double)
        case .string(let string):
            var container = encoder.singleValueContainer()
            try container.encode(string)
        case .binary(let bytes):
            var container = encoder.singleValueContainer()
            try container.encode(Base64.encodeToString(bytes))
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements { try container.encode(element) }
        case .object(let object):
            var container = encoder.container(keyedBy: JSONCodingKey.self)
            for member in object.members { try container.encode(member.value, forKey: JSONCodingKey(member.key)) }
        }
    }
}

extension JSONValue {
    /// Creates the JSON value of an `Encodable`, keeping the order in which it encodes its keys.
    ///
    /// `Data` and `ByteBuffer` become ``binary(_:)``; non-finite doubles are kept (and written as `null`).
    /// - Parameter value: The value to encode.
    /// - Throws: Whatever the value's `encode(to:)` throws.
    public init(encoding value: some Encodable) throws {
        let node = JSONEncodingNode()
        try node.store(value, codingPath: [])
        self = node.value
    }

    /// Decodes a `Decodable` from this value.
    ///
    /// Numbers convert when exact; `Data` reads from ``binary(_:)``, from a base64 string or from an array of
    /// bytes.
    /// - Parameter type: The type to decode.
    /// - Returns: The decoded value.
    /// - Throws: `DecodingError` when the shapes do not match.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try JSONValueDecoder.decodeValue(type, from: self, path: [])
    }
}
