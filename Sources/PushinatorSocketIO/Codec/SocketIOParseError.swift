/// An error thrown when bytes are not a valid Socket.IO v5 packet or attachment sequence.
public struct SocketIOParseError: Error, CustomStringConvertible, Hashable, Sendable {
    /// What kind of problem this is, for code that reacts to it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The name of the code.
        public var description: String { name }

        /// The packet was empty.
        public static let emptyPacket = Code("emptyPacket")
        /// The first character is not a packet type.
        public static let unknownPacketType = Code("unknownPacketType")
        /// The attachment count of a binary packet is missing or malformed.
        public static let invalidAttachmentCount = Code("invalidAttachmentCount")
        /// The attachment count exceeds the configured maximum.
        public static let tooManyAttachments = Code("tooManyAttachments")
        /// The acknowledgement id is malformed or missing where required.
        public static let invalidAckID = Code("invalidAckID")
        /// The namespace is not valid UTF-8.
        public static let invalidNamespace = Code("invalidNamespace")
        /// The data is not valid JSON.
        public static let invalidJSON = Code("invalidJSON")
        /// The data does not have the shape the packet type requires.
        public static let invalidPayload = Code("invalidPayload")
        /// A binary placeholder is malformed, out of range, repeated, or the count does not match.
        public static let invalidPlaceholder = Code("invalidPlaceholder")
        /// A binary frame arrived while no attachment was awaited.
        public static let unexpectedBinary = Code("unexpectedBinary")
        /// A text packet arrived while attachments were still awaited.
        public static let unexpectedText = Code("unexpectedText")
        /// The attachments of a binary packet exceed the configured byte limit.
        public static let attachmentsTooLarge = Code("attachmentsTooLarge")
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
