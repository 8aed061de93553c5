/// An error thrown when bytes are not a valid JSON document.
///
/// The ``description`` reads like `unexpected character 'x' at offset 3`; ``offset`` counts bytes from the
/// start of the parsed input.
public struct JSONParseError: Error, CustomStringConvertible, Hashable, Sendable {
    /// What went wrong, without the offset (`"unexpected character 'x'"`).
    public let reason: String
    /// The byte offset at which the problem was found, counted from the start of the parsed input.
    public let offset: Int

    /// Creates an error.
    /// - Parameters:
    ///   - reason: What went wrong, without the offset.
    ///   - offset: The byte offset at which the problem was found.
    public init(_ reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    /// A human-readable message with the offset, such as `unterminated string at offset 10`.
    public var description: String { "\(reason) at offset \(offset)" }
}

extension JSONParseError {
    static func unexpectedCharacter(_ byte: UInt8, at offset: Int) -> Self {
        .init("unexpected character \(describe(byte))", offset: offset)
    }

    static func unexpectedEnd(at offset: Int) -> Self {
        .init("unexpected end of input", offset: offset)
    }

    /// Renders a byte for a message: printable ASCII in quotes, anything else as hex.
    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        let hex = String(byte, radix: 16, uppercase: true)
        return "0x" + (hex.count == 1 ? "0" + hex : hex)
    }
}
