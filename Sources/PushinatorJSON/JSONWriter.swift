import NIOCore

/// Writes `JSONValue`s as compact JSON text, byte for byte what JavaScript's `JSON.stringify` produces.
enum JSONWriter {
    static func write(_ value: JSONValue, to output: inout some JSONOutput) {
        switch value {
        case .null:
            output.jsonAppend("null")
        case .bool(let flag):
            output.jsonAppend(flag ? "true" : "false")
        case .integer(let integer):
            writeInteger(integer, to: &output)
        case .double(let double):
            JSNumberFormatter.write(double, to: &output)
        case .string(let string):
            writeString(string, to: &output)
        case .array(let elements):
            output.jsonAppend(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { output.jsonAppend(UInt8(ascii: ",")) }
                first = false
                write(element, to: &output)
            }
            output.jsonAppend(UInt8(ascii: "]"))
        case .object(let object):
            output.jsonAppend(UInt8(ascii: "{"))
            var first = true
            for member in object.members {
                if !first { output.jsonAppend(UInt8(ascii: ",")) }
                first = false
                writeString(member.key, to: &output)
                output.jsonAppend(UInt8(ascii: ":"))
                write(member.value, to: &output)
            }
            output.jsonAppend(UInt8(ascii: "}"))
        case .binary(let bytes):
            output.jsonAppend(UInt8(ascii: "\""))
            output.jsonAppendBase64(bytes)
            output.jsonAppend(UInt8(ascii: "\""))
        }
    }

    static func writeInteger(_ value: Int, to output: inout some JSONOutput) {
        if value >= 0 && value < 10 {
            output.jsonAppend(UInt8(ascii: "0") &+ UInt8(value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var magnitude = value.magnitude
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") &+ UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { output.jsonAppend(UInt8(ascii: "-")) }
            output.jsonAppend(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digits)[start..<20]))
        }
    }

    static func writeString(_ string: String, to output: inout some JSONOutput) {
        output.jsonAppend(UInt8(ascii: "\""))
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { utf8 in
            writeEscaped(UnsafeRawBufferPointer(utf8), to: &output)
        }
        if done == nil {
            var copy = string
            copy.withUTF8 { writeEscaped(UnsafeRawBufferPointer($0), to: &output) }
        }
        output.jsonAppend(UInt8(ascii: "\""))
    }

    /// Writes string contents, copying unescaped runs in one go.
    static func writeEscaped(_ bytes: UnsafeRawBufferPointer, to output: inout some JSONOutput) {
        var runStart = 0
        for position in 0..<bytes.count {
            let byte = bytes[position]
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") { continue }
            if runStart < position { output.jsonAppend(UnsafeRawBufferPointer(rebasing: bytes[runStart..<position])) }
            runStart = position + 1
            switch byte {
            case UInt8(ascii: "\""): output.jsonAppend("\\\"")
            case UInt8(ascii: "\\"): output.jsonAppend("\\\\")
            case 0x08: output.jsonAppend("\\b")
            case 0x0C: output.jsonAppend("\\f")
            case 0x0A: output.jsonAppend("\\n")
            case 0x0D: output.jsonAppend("\\r")
            case 0x09: output.jsonAppend("\\t")
            default:
                output.jsonAppend("\\u00")
                output.jsonAppend(hexDigit(byte >> 4))
                output.jsonAppend(hexDigit(byte & 0x0F))
            }
        }
        if runStart < bytes.count { output.jsonAppend(UnsafeRawBufferPointer(rebasing: bytes[runStart...])) }
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ nibble &- 10
    }
}
