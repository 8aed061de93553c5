public import NIOCore

/// One MessagePack value, covering the whole format (<https://github.com/msgpack/msgpack/blob/master/spec.md>).
///
/// Integers are normalized: every integer that fits in `Int64` is ``int(_:)``, whatever width it had on the wire;
/// ``uint(_:)`` holds only the values above `Int64.max`. Equality compares floating-point values by their bits,
/// so a decoded `NaN` equals itself and a value always equals its own re-encoding.
///
/// ```swift
/// let value: MessagePackValue = .map([(.string("compact"), .bool(true)), (.string("schema"), .int(0))])
/// var bytes = ByteBuffer()
/// value.write(to: &bytes)  // 82 a7 63 6f 6d 70 61 63 74 c3 a6 73 63 68 65 6d 61 00
/// ```
public enum MessagePackValue: Sendable, Equatable {
    /// `nil` (0xc0).
    case `nil`
    /// `false` (0xc2) or `true` (0xc3).
    case bool(Bool)
    /// An integer from `Int64.min` to `Int64.max` (fixint, int 8-64, uint 8-64).
    case int(Int64)
    /// An unsigned integer above `Int64.max` (uint 64).
    case uint(UInt64)
    /// A single-precision float (float 32).
    case float32(Float)
    /// A double-precision float (float 64).
    case float64(Double)
    /// A UTF-8 string (fixstr, str 8-32).
    case string(String)
    /// Bytes (bin 8-32).
    case binary(ByteBuffer)
    /// An array (fixarray, array 16-32).
    case array([MessagePackValue])
    /// A map, with its pairs in wire order; keys may be any value and may repeat (fixmap, map 16-32).
    case map([(key: MessagePackValue, value: MessagePackValue)])
    /// An extension: an application type (-128...127; negative types are reserved by the spec, -1 is the
    /// timestamp) and its bytes (fixext 1-16, ext 8-32).
    case ext(type: Int8, data: ByteBuffer)

    public static func == (lhs: MessagePackValue, rhs: MessagePackValue) -> Bool {
        switch (lhs, rhs) {
        case (.nil, .nil): true
        case (.bool(let left), .bool(let right)): left == right
        case (.int(let left), .int(let right)): left == right
        case (.uint(let left), .uint(let right)): left == right
        case (.float32(let left), .float32(let right)): left.bitPattern == right.bitPattern
        case (.float64(let left), .float64(let right)): left.bitPattern == right.bitPattern
        case (.string(let left), .string(let right)): left == right
        case (.binary(let left), .binary(let right)): left == right
        case (.array(let left), .array(let right)): left == right
        case (.map(let left), .map(let right)):
            left.count == right.count && zip(left, right).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.ext(let leftType, let leftData), .ext(let rightType, let rightData)):
            leftType == rightType && leftData == rightData
        default: false
        }
    }
}

extension MessagePackValue {
    /// A string-keyed map from `pairs`, in order.
    /// - Parameter pairs: The keys and values.
    /// - Returns: A ``map(_:)`` value.
    public static func map(_ pairs: KeyValuePairs<String, MessagePackValue>) -> MessagePackValue {
        .map(pairs.map { (key: MessagePackValue.string($0.key), value: $0.value) })
    }

    /// Bytes from an array.
    /// - Parameter bytes: The bytes.
    /// - Returns: A ``binary(_:)`` value.
    public static func binary(_ bytes: [UInt8]) -> MessagePackValue { .binary(ByteBuffer(bytes: bytes)) }
}
