public import NIOCore
public import PushinatorJSON

extension MessagePackValue {
    /// The MessagePack form of a JSON value, as @msgpack/msgpack encodes the same JavaScript value: `null` is
    /// nil, integers take their smallest integer form, other numbers are float 64, objects are maps with string
    /// keys in order, and binary data (a Socket.IO attachment) is bin.
    /// - Parameter json: The value.
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .nil
        case .bool(let value): self = .bool(value)
        case .integer(let value): self = .int(Int64(value))
        case .double(let value): self = .float64(value)
        case .string(let value): self = .string(value)
        case .binary(let value): self = .binary(value)
        case .array(let elements): self = .array(elements.map(MessagePackValue.init))
        case .object(let object):
            self = .map(object.members.map { (key: .string($0.key), value: MessagePackValue($0.value)) })
        }
    }
}

extension JSONValue {
    /// The JSON value a Node.js server would see after @msgpack/msgpack decoded these bytes.
    /// - Parameters:
    ///   - buffer: The MessagePack bytes (exactly one value).
    ///   - limits: The decoder's bounds.
    /// - Throws: ``MessagePackError`` for invalid bytes or a value with no JSON form.
    public init(messagePack buffer: ByteBuffer, limits: MessagePackLimits = .init()) throws(MessagePackError) {
        self = try JSONValue(messagePack: try MessagePackDecoder(limits: limits).decode(buffer))
    }

    /// The JSON value a Node.js server would see after @msgpack/msgpack decoded `value`:
    /// - nil is `null`; integers above `Int.max` and floats become doubles; bin becomes ``binary(_:)``;
    /// - map keys must be strings or integers (an integer key becomes its decimal text, as a JavaScript object's
    ///   property name); a repeated key keeps its last value at its first position (as `JSON.parse` does);
    /// - the timestamp extension (-1) becomes the text `JSON.stringify` gives its `Date`
    ///   (`"2026-12-06T04:52:37.000Z"`, `null` outside `Date`'s range); any other extension is an error.
    /// - Parameter value: The decoded value.
    /// - Throws: ``MessagePackError`` (``MessagePackError/Reason/keyWithoutJSONForm`` or
    ///   ``MessagePackError/Reason/extensionWithoutJSONForm``).
    public init(messagePack value: MessagePackValue) throws(MessagePackError) {
        switch value {
        case .nil: self = .null
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .integer(Int(value))
        case .uint(let value): self = .double(Double(value))
        case .float32(let value): self = .double(Double(value))
        case .float64(let value): self = .double(value)
        case .string(let value): self = .string(value)
        case .binary(let value): self = .binary(value)
        case .array(let elements):
            var converted: [JSONValue] = []
            converted.reserveCapacity(elements.count)
            for element in elements { converted.append(try JSONValue(messagePack: element)) }
            self = .array(converted)
        case .map(let pairs):
            var members: [(key: String, value: JSONValue)] = []
            members.reserveCapacity(pairs.count)
            var positions: [String: Int] = [:]
            for pair in pairs {
                let key: String
                switch pair.key {
                case .string(let text): key = text
                case .int(let number): key = String(number)
                case .uint(let number): key = String(number)
                default: throw MessagePackError(.keyWithoutJSONForm, offset: 0)
                }
                let converted = try JSONValue(messagePack: pair.value)
                if let position = positions[key] {
                    members[position].value = converted
                } else {
                    positions[key] = members.count
                    members.append((key, converted))
                }
            }
            self = .object(JSONObject(uncheckedUniqueMembers: members))
        case .ext(let type, let data):
            guard type == -1, let timestamp = MessagePackTimestamp(data) else {
                throw MessagePackError(.extensionWithoutJSONForm, offset: 0)
            }
            self = timestamp.javaScriptJSON
        }
    }

    /// Appends this value's MessagePack encoding to `buffer` (the same bytes as `MessagePackValue(self)`,
    /// without building it).
    /// - Parameter buffer: Where to write.
    public func writeMessagePack(to buffer: inout ByteBuffer) {
        switch self {
        case .null: MessagePackWriter.writeNil(to: &buffer)
        case .bool(let value): MessagePackWriter.writeBool(value, to: &buffer)
        case .integer(let value): MessagePackWriter.writeInt(Int64(value), to: &buffer)
        case .double(let value): MessagePackWriter.writeDouble(value, to: &buffer)
        case .string(let value): MessagePackWriter.writeString(value, to: &buffer)
        case .binary(let value): MessagePackWriter.writeBinary(value, to: &buffer)
        case .array(let elements):
            MessagePackWriter.writeArrayHeader(count: elements.count, to: &buffer)
            for element in elements { element.writeMessagePack(to: &buffer) }
        case .object(let object):
            MessagePackWriter.writeMapHeader(count: object.count, to: &buffer)
            for member in object.members {
                MessagePackWriter.writeString(member.key, to: &buffer)
                member.value.writeMessagePack(to: &buffer)
            }
        }
    }

    /// This value's MessagePack encoding.
    public var messagePack: ByteBuffer {
        var buffer = ByteBuffer()
        writeMessagePack(to: &buffer)
        return buffer
    }
}
