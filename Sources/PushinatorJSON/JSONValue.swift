public import NIOCore

/// A JSON document held in memory, with the key order of objects preserved.
///
/// `JSONValue` is the currency of the Socket.IO layer (event arguments, acknowledgements, `auth` payloads)
/// and of the admin API. Integers and floating-point numbers are kept apart so that `5` stays `5` when a
/// message is relayed. The `binary` case carries Socket.IO binary attachments; it has no JSON text form of
/// its own (the Socket.IO encoder replaces it with a placeholder object).
///
/// ```swift
/// let value: JSONValue = ["user": 5, "tags": ["a", "b"]]
/// value["user"]?.int  // 5
/// ```
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without fraction or exponent that fits in 64 bits.
    case integer(Int)
    /// Any other number.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object; key order is preserved.
    case object(JSONObject)
    /// Binary data (a Socket.IO attachment). Serialized as a base64 string by the plain JSON writer.
    case binary(ByteBuffer)
}

// MARK: - Accessors

extension JSONValue {
    /// The string, when this is a string.
    public var string: String? { if case .string(let value) = self { value } else { nil } }
    /// The boolean, when this is a boolean.
    public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    /// The integer, when this is an integer or a double with no fraction that fits.
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .double(let value): Int(exactly: value)
        default: nil
        }
    }
    /// The number as a `Double`, when this is a number.
    public var double: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
    /// The elements, when this is an array.
    public var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    /// The members, when this is an object.
    public var object: JSONObject? { if case .object(let value) = self { value } else { nil } }
    /// The bytes, when this is binary data.
    public var binary: ByteBuffer? { if case .binary(let value) = self { value } else { nil } }
    /// Whether this is `null`.
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The member `key`, when this is an object that has it.
    public subscript(key: String) -> JSONValue? { object?[key] }
    /// The element at `index`, when this is an array long enough.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// A short name of the kind of value, for error messages (`"object"`, `"string"`...).
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        case .binary: "binary"
        }
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}
