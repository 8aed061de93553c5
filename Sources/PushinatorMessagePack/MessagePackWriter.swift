public import NIOCore

/// Writes MessagePack headers and scalars in their smallest form, as @msgpack/msgpack and notepack.io do:
/// an integer takes the narrowest of fixint, int/uint 8, 16, 32, 64; a string, binary, array or map the
/// narrowest length header. Doubles are always float 64 (as both JavaScript encoders write them).
public enum MessagePackWriter {
    /// Writes `nil`.
    public static func writeNil(to buffer: inout ByteBuffer) { buffer.writeInteger(UInt8(0xc0)) }

    /// Writes a boolean.
    public static func writeBool(_ value: Bool, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(value ? 0xc3 : 0xc2))
    }

    /// Writes a signed integer in its smallest form (a non-negative one as fixint or uint, like the JS encoders).
    public static func writeInt(_ value: Int64, to buffer: inout ByteBuffer) {
        if value >= 0 { return writeUInt(UInt64(value), to: &buffer) }
        switch value {
        case (-32)...: buffer.writeInteger(Int8(value))
        case Int64(Int8.min)...: buffer.writeInteger(UInt8(0xd0)); buffer.writeInteger(Int8(value))
        case Int64(Int16.min)...: buffer.writeInteger(UInt8(0xd1)); buffer.writeInteger(Int16(value))
        case Int64(Int32.min)...: buffer.writeInteger(UInt8(0xd2)); buffer.writeInteger(Int32(value))
        default: buffer.writeInteger(UInt8(0xd3)); buffer.writeInteger(value)
        }
    }

    /// Writes an unsigned integer in its smallest form.
    public static func writeUInt(_ value: UInt64, to buffer: inout ByteBuffer) {
        switch value {
        case ..<0x80: buffer.writeInteger(UInt8(value))
        case ..<0x100: buffer.writeInteger(UInt8(0xcc)); buffer.writeInteger(UInt8(value))
        case ..<0x1_0000: buffer.writeInteger(UInt8(0xcd)); buffer.writeInteger(UInt16(value))
        case ..<0x1_0000_0000: buffer.writeInteger(UInt8(0xce)); buffer.writeInteger(UInt32(value))
        default: buffer.writeInteger(UInt8(0xcf)); buffer.writeInteger(value)
        }
    }

    /// Writes a float 32.
    public static func writeFloat(_ value: Float, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(0xca))
        buffer.writeInteger(value.bitPattern)
    }

    /// Writes a float 64.
    public static func writeDouble(_ value: Double, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(0xcb))
        buffer.writeInteger(value.bitPattern)
    }

    /// Writes a string (fixstr, str 8, 16 or 32 and its UTF-8 bytes).
    public static func writeString(_ value: String, to buffer: inout ByteBuffer) {
        var value = value
        value.withUTF8 { utf8 in
            writeHeader(
                length: utf8.count,
                fixed: (base: 0xa0, limit: 32),
                markers: (0xd9, 0xda, 0xdb),
                to: &buffer
            )
            buffer.writeBytes(utf8)
        }
    }

    /// Writes bytes (bin 8, 16 or 32).
    public static func writeBinary(_ value: ByteBuffer, to buffer: inout ByteBuffer) {
        writeHeader(length: value.readableBytes, fixed: nil, markers: (0xc4, 0xc5, 0xc6), to: &buffer)
        buffer.writeImmutableBuffer(value)
    }

    /// Writes the header of an array of `count` elements (fixarray, array 16 or 32); the elements follow.
    public static func writeArrayHeader(count: Int, to buffer: inout ByteBuffer) {
        writeHeader(length: count, fixed: (base: 0x90, limit: 16), markers: nil, wide: (0xdc, 0xdd), to: &buffer)
    }

    /// Writes the header of a map of `count` pairs (fixmap, map 16 or 32); keys and values follow, alternating.
    public static func writeMapHeader(count: Int, to buffer: inout ByteBuffer) {
        writeHeader(length: count, fixed: (base: 0x80, limit: 16), markers: nil, wide: (0xde, 0xdf), to: &buffer)
    }

    /// Writes an extension (fixext 1, 2, 4, 8, 16 when the size fits, else ext 8, 16 or 32).
    public static func writeExtension(type: Int8, data: ByteBuffer, to buffer: inout ByteBuffer) {
        switch data.readableBytes {
        case 1: buffer.writeInteger(UInt8(0xd4))
        case 2: buffer.writeInteger(UInt8(0xd5))
        case 4: buffer.writeInteger(UInt8(0xd6))
        case 8: buffer.writeInteger(UInt8(0xd7))
        case 16: buffer.writeInteger(UInt8(0xd8))
        default: writeHeader(length: data.readableBytes, fixed: nil, markers: (0xc7, 0xc8, 0xc9), to: &buffer)
        }
        buffer.writeInteger(type)
        buffer.writeImmutableBuffer(data)
    }

    /// A length header: a fixed form for small lengths, then an 8-, 16- or 32-bit length (`markers`), or for
    /// arrays and maps only 16- and 32-bit counts (`wide`). Lengths over 4 GiB cannot be represented: every
    /// caller's data is bounded by the payload limits long before.
    private static func writeHeader(
        length: Int,
        fixed: (base: UInt8, limit: Int)?,
        markers: (UInt8, UInt8, UInt8)?,
        wide: (UInt8, UInt8)? = nil,
        to buffer: inout ByteBuffer
    ) {
        precondition(length <= Int(UInt32.max), "MessagePack cannot represent a length of \(length)")
        if let fixed, length < fixed.limit {
            buffer.writeInteger(fixed.base | UInt8(length))
        } else if let markers, length <= 0xff {
            buffer.writeInteger(markers.0)
            buffer.writeInteger(UInt8(length))
        } else if length <= 0xffff {
            buffer.writeInteger(markers?.1 ?? wide!.0)
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(markers?.2 ?? wide!.1)
            buffer.writeInteger(UInt32(length))
        }
    }
}

extension MessagePackValue {
    /// Appends this value's MessagePack encoding to `buffer`.
    /// - Parameter buffer: Where to write.
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .nil: MessagePackWriter.writeNil(to: &buffer)
        case .bool(let value): MessagePackWriter.writeBool(value, to: &buffer)
        case .int(let value): MessagePackWriter.writeInt(value, to: &buffer)
        case .uint(let value): MessagePackWriter.writeUInt(value, to: &buffer)
        case .float32(let value): MessagePackWriter.writeFloat(value, to: &buffer)
        case .float64(let value): MessagePackWriter.writeDouble(value, to: &buffer)
        case .string(let value): MessagePackWriter.writeString(value, to: &buffer)
        case .binary(let value): MessagePackWriter.writeBinary(value, to: &buffer)
        case .array(let elements):
            MessagePackWriter.writeArrayHeader(count: elements.count, to: &buffer)
            for element in elements { element.write(to: &buffer) }
        case .map(let pairs):
            MessagePackWriter.writeMapHeader(count: pairs.count, to: &buffer)
            for pair in pairs {
                pair.key.write(to: &buffer)
                pair.value.write(to: &buffer)
            }
        case .ext(let type, let data): MessagePackWriter.writeExtension(type: type, data: data, to: &buffer)
        }
    }

    /// This value's MessagePack encoding.
    public var encoded: ByteBuffer {
        var buffer = ByteBuffer()
        write(to: &buffer)
        return buffer
    }
}
