import NIOCore

/// A destination for JSON bytes; lets one writer serve `ByteBuffer` and `[UInt8]`.
protocol JSONOutput {
    mutating func jsonAppend(_ byte: UInt8)
    mutating func jsonAppend(_ bytes: UnsafeRawBufferPointer)
    mutating func jsonAppend(_ text: StaticString)
    mutating func jsonAppendBase64(_ source: ByteBuffer)
}

extension ByteBuffer: JSONOutput {
    @inline(__always)
    mutating func jsonAppend(_ byte: UInt8) { writeInteger(byte) }
    @inline(__always)
    mutating func jsonAppend(_ bytes: UnsafeRawBufferPointer) { writeBytes(bytes) }
    @inline(__always)
    mutating func jsonAppend(_ text: StaticString) { writeStaticString(text) }
    mutating func jsonAppendBase64(_ source: ByteBuffer) { Base64.encode(source, into: &self) }
}

extension Array: JSONOutput where Element == UInt8 {
    @inline(__always)
    mutating func jsonAppend(_ byte: UInt8) { append(byte) }
    @inline(__always)
    mutating func jsonAppend(_ bytes: UnsafeRawBufferPointer) { append(contentsOf: bytes) }
    @inline(__always)
    mutating func jsonAppend(_ text: StaticString) {
        append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
    mutating func jsonAppendBase64(_ source: ByteBuffer) {
        source.withUnsafeReadableBytes { bytes in
            let count = Base64.encodedCount(of: bytes.count)
            let start = self.count
            append(contentsOf: repeatElement(0, count: count))
            self[start...].withUnsafeMutableBytes { Base64.encode(bytes, to: $0) }
        }
    }
}
