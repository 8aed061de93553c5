public import NIOCore

extension JSONValue: CustomStringConvertible {
    /// Appends the compact JSON text of this value, exactly as JavaScript's `JSON.stringify` would write it.
    ///
    /// Non-finite doubles become `null`; ``binary(_:)`` becomes a base64 string.
    /// - Parameter buffer: The buffer to append to.
    public func write(to buffer: inout ByteBuffer) {
        JSONWriter.write(self, to: &buffer)
    }

    /// Appends the compact JSON text of this value to a byte array.
    /// - Parameter bytes: The array to append to.
    public func write(to bytes: inout [UInt8]) {
        JSONWriter.write(self, to: &bytes)
    }

    /// The compact JSON text of this value, as `JSON.stringify` would write it.
    public var jsonString: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        write(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The compact JSON text of this value (``jsonString``).
    public var description: String { jsonString }
}
