public import NIOCore

/// Standard base64 (RFC 4648 §4, `+/` alphabet, `=` padding), as used for binary data in JSON text and in
/// Engine.IO polling payloads.
public enum Base64 {
    /// The number of characters that encoding `byteCount` bytes produces, padding included.
    /// - Parameter byteCount: The number of input bytes.
    /// - Returns: The encoded length.
    public static func encodedCount(of byteCount: Int) -> Int { (byteCount + 2) / 3 * 4 }

    /// Appends the base64 form of `bytes` to `buffer`.
    /// - Parameters:
    ///   - bytes: The bytes to encode.
    ///   - buffer: The buffer to write to.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        let count = encodedCount(of: bytes.count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            encode(bytes, to: target)
            return count
        }
    }

    /// Appends the base64 form of the readable bytes of `source` to `buffer`.
    /// - Parameters:
    ///   - source: The bytes to encode.
    ///   - buffer: The buffer to write to.
    public static func encode(_ source: ByteBuffer, into buffer: inout ByteBuffer) {
        source.withUnsafeReadableBytes { encode($0, into: &buffer) }
    }

    /// Returns the base64 form of the readable bytes of `source`.
    /// - Parameter source: The bytes to encode.
    /// - Returns: The encoded text.
    public static func encodeToString(_ source: ByteBuffer) -> String {
        source.withUnsafeReadableBytes { bytes in
            String(unsafeUninitializedCapacity: encodedCount(of: bytes.count)) { target in
                encode(bytes, to: UnsafeMutableRawBufferPointer(target))
                return encodedCount(of: bytes.count)
            }
        }
    }

    /// Decodes base64 text; the final padding may be omitted, anything else malformed gives `nil`.
    /// - Parameter text: The encoded bytes.
    /// - Returns: The decoded bytes, or `nil` when `text` is not base64.
    public static func decode(_ text: UnsafeRawBufferPointer) -> ByteBuffer? {
        var end = text.count
        if end > 0 && text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        if end > 0 && text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        if text.count != end && text.count % 4 != 0 { return nil }  // padding only completes a quantum
        let remainder = end % 4
        if remainder == 1 { return nil }
        let outputCount = end / 4 * 3 + (remainder == 0 ? 0 : remainder - 1)
        var output = ByteBufferAllocator().buffer(capacity: outputCount)
        var valid = true
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: outputCount) { target in
            var input = 0
            var written = 0
            while input + 4 <= end {
                let a = decodeTable[Int(text[input])]
                let b = decodeTable[Int(text[input + 1])]
                let c = decodeTable[Int(text[input + 2])]
                let d = decodeTable[Int(text[input + 3])]
                if (a | b | c | d) & 0x80 != 0 {
                    valid = false
                    return 0
                }
                target[written] = a << 2 | b >> 4
                target[written + 1] = b << 4 | c >> 2
                target[written + 2] = c << 6 | d
                input += 4
                written += 3
            }
            if remainder >= 2 {
                let a = decodeTable[Int(text[input])]
                let b = decodeTable[Int(text[input + 1])]
                let c = remainder == 3 ? decodeTable[Int(text[input + 2])] : 0
                if (a | b | c) & 0x80 != 0 {
                    valid = false
                    return 0
                }
                target[written] = a << 2 | b >> 4
                written += 1
                if remainder == 3 {
                    target[written] = b << 4 | c >> 2
                    written += 1
                }
            }
            return written
        }
        return valid ? output : nil
    }

    /// Decodes the readable bytes of a buffer as base64.
    /// - Parameter text: The encoded bytes.
    /// - Returns: The decoded bytes, or `nil` when `text` is not base64.
    public static func decode(_ text: ByteBuffer) -> ByteBuffer? {
        text.withUnsafeReadableBytes { decode($0) }
    }

    /// Decodes a base64 string.
    /// - Parameter text: The encoded text.
    /// - Returns: The decoded bytes, or `nil` when `text` is not base64.
    public static func decode(_ text: String) -> ByteBuffer? {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    // MARK: Internals

    static func encode(_ bytes: UnsafeRawBufferPointer, to target: UnsafeMutableRawBufferPointer) {
        var input = 0
        var output = 0
        while input + 3 <= bytes.count {
            let value = UInt32(bytes[input]) << 16 | UInt32(bytes[input + 1]) << 8 | UInt32(bytes[input + 2])
            target[output] = alphabet[Int(value >> 18)]
            target[output + 1] = alphabet[Int((value >> 12) & 0x3F)]
            target[output + 2] = alphabet[Int((value >> 6) & 0x3F)]
            target[output + 3] = alphabet[Int(value & 0x3F)]
            input += 3
            output += 4
        }
        let left = bytes.count - input
        if left > 0 {
            let value = UInt32(bytes[input]) << 16 | (left == 2 ? UInt32(bytes[input + 1]) << 8 : 0)
            target[output] = alphabet[Int(value >> 18)]
            target[output + 1] = alphabet[Int((value >> 12) & 0x3F)]
            target[output + 2] = left == 2 ? alphabet[Int((value >> 6) & 0x3F)] : UInt8(ascii: "=")
            target[output + 3] = UInt8(ascii: "=")
        }
    }

    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Maps a byte to its 6-bit value, or 0xFF when it is not in the alphabet.
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()
}
