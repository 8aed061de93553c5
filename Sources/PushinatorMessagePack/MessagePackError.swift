/// Why MessagePack bytes could not be decoded, or a decoded value has no JSON form; with the byte offset.
///
/// Every hostile input ends in one of these: a declared length larger than the bytes that follow, nesting
/// deeper than ``MessagePackLimits/maxDepth``, an input over ``MessagePackLimits/maxInputSize``...
public struct MessagePackError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case truncated = "the input ends inside a value"
            case declaredSizeTooLarge = "a declared length is larger than the bytes that follow"
            case tooDeep = "arrays and maps are nested deeper than the limit"
            case inputTooLarge = "the input is larger than the limit"
            case tooManyElements = "an array or map declares more elements than the limit"
            case invalidByte = "0xc1 is never used"
            case invalidUTF8 = "a string is not valid UTF-8"
            case trailingBytes = "bytes follow the value"
            case keyWithoutJSONForm = "a map key is neither a string nor an integer"
            case extensionWithoutJSONForm = "an extension type has no JSON form"
        }
        private let kind: Kind

        /// The input ends inside a value.
        public static let truncated = Reason(kind: .truncated)
        /// A str, bin, ext, array or map declares more bytes (or elements) than the input has left.
        public static let declaredSizeTooLarge = Reason(kind: .declaredSizeTooLarge)
        /// Arrays and maps nest deeper than ``MessagePackLimits/maxDepth``.
        public static let tooDeep = Reason(kind: .tooDeep)
        /// The input is larger than ``MessagePackLimits/maxInputSize``.
        public static let inputTooLarge = Reason(kind: .inputTooLarge)
        /// An array or map declares more elements than ``MessagePackLimits/maxElements``.
        public static let tooManyElements = Reason(kind: .tooManyElements)
        /// The byte 0xc1, which the format never uses.
        public static let invalidByte = Reason(kind: .invalidByte)
        /// A str is not valid UTF-8.
        public static let invalidUTF8 = Reason(kind: .invalidUTF8)
        /// Bytes follow the single value that was expected.
        public static let trailingBytes = Reason(kind: .trailingBytes)
        /// Converting to JSON: a map key that is neither a string nor an integer.
        public static let keyWithoutJSONForm = Reason(kind: .keyWithoutJSONForm)
        /// Converting to JSON: an extension other than the timestamp (-1).
        public static let extensionWithoutJSONForm = Reason(kind: .extensionWithoutJSONForm)

        public var description: String { kind.rawValue }
    }

    /// The kind of problem.
    public let reason: Reason
    /// The offset in the input where it was found (0 when converting a value to JSON).
    public let offset: Int

    /// Creates an error.
    /// - Parameters:
    ///   - reason: The kind of problem.
    ///   - offset: The byte offset where it was found.
    public init(_ reason: Reason, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "MessagePack: \(reason) at offset \(offset)" }
}
