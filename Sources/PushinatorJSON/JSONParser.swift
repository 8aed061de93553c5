public import NIOCore

/// A strict RFC 8259 JSON parser that reads bytes directly.
///
/// Integers that fit in `Int` become ``JSONValue/integer(_:)``; every other number becomes
/// ``JSONValue/double(_:)``. Strings must be valid UTF-8; `\u` escapes of lone surrogates become U+FFFD.
///
/// ```swift
/// let value = try JSONParser().parse(buffer)
/// ```
public struct JSONParser: Sendable {
    /// Limits applied while parsing.
    public struct Options: Sendable, Hashable {
        /// The deepest nesting of arrays and objects accepted; deeper input throws.
        public var maxDepth: Int

        /// Creates options.
        /// - Parameter maxDepth: The deepest nesting of arrays and objects accepted (default 128).
        public init(maxDepth: Int = 128) {
            self.maxDepth = maxDepth
        }
    }

    /// The limits this parser applies.
    public var options: Options

    /// Creates a parser.
    /// - Parameter options: The limits to apply.
    public init(options: Options = .init()) {
        self.options = options
    }

    /// Parses bytes that hold exactly one JSON value, with optional surrounding whitespace.
    /// - Parameter bytes: UTF-8 JSON text.
    /// - Returns: The value.
    /// - Throws: ``JSONParseError`` with a byte offset into `bytes`.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var scanner = JSONScanner(bytes: bytes, maxDepth: options.maxDepth)
        return try scanner.parseDocument()
    }

    /// Parses the JSON value at the start of `bytes` and tells where it ends; whatever follows is not read.
    /// - Parameter bytes: UTF-8 text that starts with a JSON value, optionally after whitespace.
    /// - Returns: The value and the number of bytes it spans, leading whitespace included.
    /// - Throws: ``JSONParseError`` with a byte offset into `bytes`.
    public func parsePrefix(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> (value: JSONValue, length: Int) {
        var scanner = JSONScanner(bytes: bytes, maxDepth: options.maxDepth)
        let value = try scanner.parseValue(depth: 0)
        return (value, scanner.index)
    }

    /// Parses the readable bytes of a buffer, which must hold exactly one JSON value.
    /// - Parameter buffer: UTF-8 JSON text; its reader index does not move.
    /// - Returns: The value.
    /// - Throws: ``JSONParseError`` with an offset relative to the reader index.
    public func parse(_ buffer: ByteBuffer) throws(JSONParseError) -> JSONValue {
        try buffer.withUnsafeReadableBytes { raw in
            Result { () throws(JSONParseError) in try parse(raw) }
        }.get()
    }

    /// Parses a string that holds exactly one JSON value.
    /// - Parameter string: JSON text.
    /// - Returns: The value.
    /// - Throws: ``JSONParseError`` with an offset counted in UTF-8 bytes.
    public func parse(_ string: String) throws(JSONParseError) -> JSONValue {
        var string = string
        return try string.withUTF8 { utf8 in
            Result { () throws(JSONParseError) in try parse(UnsafeRawBufferPointer(utf8)) }
        }.get()
    }

    /// Parses a collection of bytes that holds exactly one JSON value.
    /// - Parameter bytes: UTF-8 JSON text; contiguous collections are read in place.
    /// - Returns: The value.
    /// - Throws: ``JSONParseError`` with a byte offset.
    public func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let result = bytes.withContiguousStorageIfAvailable { storage in
            Result { () throws(JSONParseError) in try parse(UnsafeRawBufferPointer(storage)) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBytes { raw in
            Result { () throws(JSONParseError) in try parse(raw) }
        }.get()
    }
}

extension JSONValue {
    /// Parses JSON text.
    /// - Parameters:
    ///   - string: Text holding exactly one JSON value.
    ///   - options: Parsing limits.
    /// - Throws: ``JSONParseError``.
    public init(parsing string: String, options: JSONParser.Options = .init()) throws(JSONParseError) {
        self = try JSONParser(options: options).parse(string)
    }

    /// Parses the readable bytes of a buffer without moving its reader index.
    /// - Parameters:
    ///   - buffer: UTF-8 bytes holding exactly one JSON value.
    ///   - options: Parsing limits.
    /// - Throws: ``JSONParseError``.
    public init(parsing buffer: ByteBuffer, options: JSONParser.Options = .init()) throws(JSONParseError) {
        self = try JSONParser(options: options).parse(buffer)
    }

    /// Parses UTF-8 bytes.
    /// - Parameters:
    ///   - bytes: Bytes holding exactly one JSON value.
    ///   - options: Parsing limits.
    /// - Throws: ``JSONParseError``.
    public init(parsing bytes: some Collection<UInt8>, options: JSONParser.Options = .init()) throws(JSONParseError) {
        self = try JSONParser(options: options).parse(bytes)
    }
}

extension ByteBuffer {
    /// Reads one JSON value at the reader index and moves the reader index just past it.
    ///
    /// Bytes after the value are left unread, so a value embedded in a larger message can be read in place.
    /// On error the reader index does not move.
    /// - Parameter options: Parsing limits.
    /// - Returns: The value.
    /// - Throws: ``JSONParseError`` with an offset relative to the reader index.
    public mutating func readJSONValue(options: JSONParser.Options = .init()) throws(JSONParseError) -> JSONValue {
        let parser = JSONParser(options: options)
        let (value, length) = try withUnsafeReadableBytes { raw in
            Result { () throws(JSONParseError) in try parser.parsePrefix(raw) }
        }.get()
        moveReaderIndex(forwardBy: length)
        return value
    }
}
