public import NIOCore

/// Decodes MessagePack bytes into a ``MessagePackValue``, within ``MessagePackLimits``.
///
/// ```swift
/// let value = try MessagePackDecoder().decode(buffer)  // exactly one value, or a MessagePackError
/// ```
public struct MessagePackDecoder: Sendable {
    /// The bounds enforced on every input.
    public var limits: MessagePackLimits

    /// Creates a decoder.
    /// - Parameter limits: The bounds enforced on every input.
    public init(limits: MessagePackLimits = .init()) {
        self.limits = limits
    }

    /// Decodes the single value that `buffer`'s readable bytes hold.
    /// - Parameter buffer: The bytes; its reader index is not moved.
    /// - Returns: The value.
    /// - Throws: ``MessagePackError`` when the bytes are not exactly one valid value within the limits.
    public func decode(_ buffer: ByteBuffer) throws(MessagePackError) -> MessagePackValue {
        let result: Result<MessagePackValue, MessagePackError> = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(MessagePackError) in try decode(bytes) }
        }
        return try result.get()
    }

    /// Decodes the single value that `bytes` hold.
    /// - Parameter bytes: The bytes.
    /// - Returns: The value.
    /// - Throws: ``MessagePackError`` when the bytes are not exactly one valid value within the limits.
    public func decode(_ bytes: some Collection<UInt8>) throws(MessagePackError) -> MessagePackValue {
        let result: Result<MessagePackValue, MessagePackError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(MessagePackError) in try decode(UnsafeRawBufferPointer(buffer)) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        let copied: Result<MessagePackValue, MessagePackError> = copy.withUnsafeBytes { raw in
            Result { () throws(MessagePackError) in try decode(raw) }
        }
        return try copied.get()
    }

    /// Decodes the single value that `bytes` hold.
    /// - Parameter bytes: The bytes.
    /// - Returns: The value.
    /// - Throws: ``MessagePackError`` when the bytes are not exactly one valid value within the limits.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(MessagePackError) -> MessagePackValue {
        guard bytes.count <= limits.maxInputSize else { throw MessagePackError(.inputTooLarge, offset: 0) }
        var reader = MessagePackReader(bytes: bytes, limits: limits)
        let value = try reader.readValue(depth: 1)
        guard reader.index == bytes.count else { throw MessagePackError(.trailingBytes, offset: reader.index) }
        return value
    }
}

/// The decoder's cursor over the input.
struct MessagePackReader {
    let bytes: UnsafeRawBufferPointer
    let limits: MessagePackLimits
    var index = 0

    init(bytes: UnsafeRawBufferPointer, limits: MessagePackLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    var remaining: Int { bytes.count - index }

    mutating func readValue(depth: Int) throws(MessagePackError) -> MessagePackValue {
        let start = index
        let byte = try readByte()
        switch byte {
        case 0x00...0x7f: return .int(Int64(byte))
        case 0x80...0x8f: return try readMap(count: Int(byte & 0x0f), depth: depth, at: start)
        case 0x90...0x9f: return try readArray(count: Int(byte & 0x0f), depth: depth, at: start)
        case 0xa0...0xbf: return try readString(length: Int(byte & 0x1f))
        case 0xc0: return .nil
        case 0xc1: throw MessagePackError(.invalidByte, offset: start)
        case 0xc2: return .bool(false)
        case 0xc3: return .bool(true)
        case 0xc4: return try readBinary(length: Int(try readUInt(1)))
        case 0xc5: return try readBinary(length: Int(try readUInt(2)))
        case 0xc6: return try readBinary(length: Int(try readUInt(4)))
        case 0xc7: return try readExtension(length: Int(try readUInt(1)))
        case 0xc8: return try readExtension(length: Int(try readUInt(2)))
        case 0xc9: return try readExtension(length: Int(try readUInt(4)))
        case 0xca: return .float32(Float(bitPattern: UInt32(try readUInt(4))))
        case 0xcb: return .float64(Double(bitPattern: try readUInt(8)))
        case 0xcc: return .int(Int64(try readUInt(1)))
        case 0xcd: return .int(Int64(try readUInt(2)))
        case 0xce: return .int(Int64(try readUInt(4)))
        case 0xcf:
            let value = try readUInt(8)
            return value <= UInt64(Int64.max) ? .int(Int64(value)) : .uint(value)
        case 0xd0: return .int(Int64(Int8(truncatingIfNeeded: try readUInt(1))))
        case 0xd1: return .int(Int64(Int16(truncatingIfNeeded: try readUInt(2))))
        case 0xd2: return .int(Int64(Int32(truncatingIfNeeded: try readUInt(4))))
        case 0xd3: return .int(Int64(bitPattern: try readUInt(8)))
        case 0xd4: return try readExtension(length: 1)
        case 0xd5: return try readExtension(length: 2)
        case 0xd6: return try readExtension(length: 4)
        case 0xd7: return try readExtension(length: 8)
        case 0xd8: return try readExtension(length: 16)
        case 0xd9: return try readString(length: Int(try readUInt(1)))
        case 0xda: return try readString(length: Int(try readUInt(2)))
        case 0xdb: return try readString(length: Int(try readUInt(4)))
        case 0xdc: return try readArray(count: Int(try readUInt(2)), depth: depth, at: start)
        case 0xdd: return try readArray(count: Int(try readUInt(4)), depth: depth, at: start)
        case 0xde: return try readMap(count: Int(try readUInt(2)), depth: depth, at: start)
        case 0xdf: return try readMap(count: Int(try readUInt(4)), depth: depth, at: start)
        default: return .int(Int64(Int8(bitPattern: byte)))  // 0xe0...0xff: negative fixint
        }
    }

    private mutating func readByte() throws(MessagePackError) -> UInt8 {
        guard index < bytes.count else { throw MessagePackError(.truncated, offset: index) }
        defer { index += 1 }
        return bytes[index]
    }

    /// A big-endian unsigned integer of `width` bytes.
    private mutating func readUInt(_ width: Int) throws(MessagePackError) -> UInt64 {
        guard remaining >= width else { throw MessagePackError(.truncated, offset: index) }
        var value: UInt64 = 0
        for offset in 0..<width { value = value << 8 | UInt64(bytes[index + offset]) }
        index += width
        return value
    }

    /// The next `length` bytes, after checking that the input has them.
    private mutating func readBytes(_ length: Int) throws(MessagePackError) -> UnsafeRawBufferPointer {
        guard length <= remaining else { throw MessagePackError(.declaredSizeTooLarge, offset: index) }
        defer { index += length }
        return UnsafeRawBufferPointer(rebasing: bytes[index..<index + length])
    }

    private mutating func readString(length: Int) throws(MessagePackError) -> MessagePackValue {
        let start = index
        let slice = try readBytes(length)
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw MessagePackError(.invalidUTF8, offset: start)
        }
        return .string(string)
    }

    private mutating func readBinary(length: Int) throws(MessagePackError) -> MessagePackValue {
        .binary(ByteBuffer(bytes: try readBytes(length)))
    }

    private mutating func readExtension(length: Int) throws(MessagePackError) -> MessagePackValue {
        let type = Int8(bitPattern: try readByte())
        return .ext(type: type, data: ByteBuffer(bytes: try readBytes(length)))
    }

    /// Checks a container's declared element count and depth before anything is allocated.
    private func checkContainer(count: Int, minimumBytes: Int, depth: Int, at start: Int) throws(MessagePackError) {
        guard depth <= limits.maxDepth else { throw MessagePackError(.tooDeep, offset: start) }
        guard count <= limits.maxElements else { throw MessagePackError(.tooManyElements, offset: start) }
        // Every element takes at least one byte (a map pair two): a count the input cannot hold is a lie.
        guard count <= remaining / minimumBytes else { throw MessagePackError(.declaredSizeTooLarge, offset: start) }
    }

    private mutating func readArray(count: Int, depth: Int, at start: Int) throws(MessagePackError) -> MessagePackValue {
        try checkContainer(count: count, minimumBytes: 1, depth: depth, at: start)
        var elements: [MessagePackValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try readValue(depth: depth + 1)) }
        return .array(elements)
    }

    private mutating func readMap(count: Int, depth: Int, at start: Int) throws(MessagePackError) -> MessagePackValue {
        try checkContainer(count: count, minimumBytes: 2, depth: depth, at: start)
        var pairs: [(key: MessagePackValue, value: MessagePackValue)] = []
        pairs.reserveCapacity(count)
        for _ in 0..<count {
            let key = try readValue(depth: depth + 1)
            let value = try readValue(depth: depth + 1)
            pairs.append((key, value))
        }
        return .map(pairs)
    }
}
