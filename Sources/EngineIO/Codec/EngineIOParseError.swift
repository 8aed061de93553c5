/// An error thrown when bytes are not a valid Engine.IO packet or payload.
public struct EngineIOParseError: Error, CustomStringConvertible, Hashable, Sendable {
    /// What kind of problem this is, for code that reacts to it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The name of the code.
        public var description: String { name }

        /// A packet (or a whole payload) had no bytes.
        public static let emptyPacket = Code("emptyPacket")
        /// A packet started with something other than a packet type.
        public static let unknownPacketType = Code("unknownPacketType")
        /// Base64 data did not decode.
        public static let invalidBase64 = Code("invalidBase64")
        /// A v3 length prefix was malformed or did not match the data.
        public static let invalidLength = Code("invalidLength")
        /// Text was not valid UTF-8.
        public static let invalidUTF8 = Code("invalidUTF8")
        /// A payload held more packets than allowed.
        public static let tooManyPackets = Code("tooManyPackets")
        /// A payload was larger than allowed.
        public static let payloadTooLarge = Code("payloadTooLarge")
    }

    /// What kind of problem this is.
    public let code: Code
    /// A human-readable explanation.
    public let message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: What kind of problem this is.
    ///   - message: A human-readable explanation.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The human-readable explanation.
    public var description: String { message }
}

extension EngineIOParseError {
    static func unknownType(_ byte: UInt8) -> Self {
        let shown = byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "0x\(String(byte, radix: 16))"
        return .init(.unknownPacketType, "unknown packet type \(shown)")
    }
}
