public import NIOCore
public import PushinatorJSON

/// Decodes Socket.IO v5 packets from the Engine.IO messages of one connection.
///
/// A value-type state machine: feed it each text message (without the Engine.IO `4` prefix) and each binary
/// message in arrival order. A BINARY_EVENT or BINARY_ACK is returned once all its attachments have arrived,
/// with ``JSONValue/binary(_:)`` values in place of the placeholders.
///
/// ```swift
/// var decoder = SocketIOPacketDecoder()
/// if let packet = try decoder.decode(text: message) { handle(packet) }
/// ```
public struct SocketIOPacketDecoder: Sendable {
    /// Limits applied while decoding.
    public struct Configuration: Sendable, Hashable {
        /// The most attachments one packet may announce.
        public var maxAttachments: Int
        /// The most bytes the attachments of one unfinished binary packet may hold.
        public var maxPendingAttachmentBytes: Int
        /// The JSON parsing limits for packet data.
        public var jsonOptions: JSONParser.Options

        /// Creates a configuration.
        /// - Parameters:
        ///   - maxAttachments: The most attachments one packet may announce (default 10).
        ///   - maxPendingAttachmentBytes: The most bytes the attachments of one unfinished binary packet may hold
        ///     (default: no limit beyond the message size).
        ///   - jsonOptions: The JSON parsing limits for packet data.
        public init(
            maxAttachments: Int = 10,
            maxPendingAttachmentBytes: Int = .max,
            jsonOptions: JSONParser.Options = .init()
        ) {
            self.maxAttachments = maxAttachments
            self.maxPendingAttachmentBytes = maxPendingAttachmentBytes
            self.jsonOptions = jsonOptions
        }
    }

    private struct Pending: Sendable {
        var packet: SocketIOPacket
        var expected: Int
        var attachments: [ByteBuffer]
        var bytes = 0
    }

    /// The limits in force.
    public let configuration: Configuration
    private var pending: Pending?

    /// Creates a decoder.
    /// - Parameter configuration: The limits to apply.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Whether a binary packet is waiting for more attachments.
    public var isAwaitingAttachments: Bool { pending != nil }

    /// The bytes of the attachments received so far for the unfinished binary packet.
    public var pendingAttachmentBytes: Int { pending?.bytes ?? 0 }

    /// Drops a partly received binary packet.
    public mutating func reset() { pending = nil }

    /// Decodes a text message.
    /// - Parameter text: The Socket.IO text, after the Engine.IO `4` prefix.
    /// - Returns: The packet, or `nil` when it is a binary packet whose attachments are still to come.
    /// - Throws: ``SocketIOParseError``; the decoder is then reset.
    public mutating func decode(text: ByteBuffer) throws(SocketIOParseError) -> SocketIOPacket? {
        // the bytes are parsed in a closure that does not capture `self` (an `inout self` captured costs a runtime
        // exclusivity check per packet)
        try dropPendingBeforeText()
        let parser = self.parser
        let parsed = text.withUnsafeReadableBytes { bytes in
            Result { () throws(SocketIOParseError) in try parser.parse(bytes) }
        }
        return try finish(parsed.get())
    }

    /// Decodes a text message.
    /// - Parameter text: The Socket.IO text, after the Engine.IO `4` prefix.
    /// - Returns: The packet, or `nil` when it is a binary packet whose attachments are still to come.
    /// - Throws: ``SocketIOParseError``; the decoder is then reset.
    public mutating func decode(text: String) throws(SocketIOParseError) -> SocketIOPacket? {
        try dropPendingBeforeText()
        let parser = self.parser
        var text = text
        let parsed = text.withUTF8 { bytes in
            Result { () throws(SocketIOParseError) in try parser.parse(UnsafeRawBufferPointer(bytes)) }
        }
        return try finish(parsed.get())
    }

    /// Decodes a binary message: the next attachment of the pending binary packet.
    /// - Parameter binary: The attachment bytes.
    /// - Returns: The completed packet, or `nil` when more attachments are still to come.
    /// - Throws: ``SocketIOParseError`` when no attachment is awaited, or when the attachments outgrow
    ///   ``Configuration/maxPendingAttachmentBytes`` (the decoder is then reset).
    public mutating func decode(binary: ByteBuffer) throws(SocketIOParseError) -> SocketIOPacket? {
        guard var current = pending else {
            throw SocketIOParseError(.unexpectedBinary, "received a binary attachment while none was expected")
        }
        pending = nil
        current.bytes += binary.readableBytes
        guard current.bytes <= configuration.maxPendingAttachmentBytes else {
            throw SocketIOParseError(
                .attachmentsTooLarge,
                "the attachments of a binary packet exceed \(configuration.maxPendingAttachmentBytes) bytes"
            )
        }
        current.attachments.append(binary)
        guard current.attachments.count == current.expected else {
            pending = current
            return nil
        }
        var packet = current.packet
        packet.data = packet.data.map { SocketIOBinary.reconstruct($0, attachments: current.attachments) }
        return packet
    }

    /// A text packet while attachments are awaited is an error (the decoder is reset).
    private mutating func dropPendingBeforeText() throws(SocketIOParseError) {
        if let pending {
            self.pending = nil
            throw SocketIOParseError(
                .unexpectedText,
                "received a text packet while \(pending.expected - pending.attachments.count) attachment(s) were awaited"
            )
        }
    }

    private var parser: SocketIOPacketParser {
        SocketIOPacketParser(maxAttachments: configuration.maxAttachments, jsonOptions: configuration.jsonOptions)
    }

    /// The packet parsed from a text message, or `nil` when its attachments are to come.
    private mutating func finish(_ parsed: (packet: SocketIOPacket, attachments: Int)) throws(SocketIOParseError)
        -> SocketIOPacket?
    {
        let (packet, attachments) = parsed
        guard packet.type.isBinary else { return packet }
        if let data = packet.data {
            try SocketIOBinary.validatePlaceholders(in: data, expected: attachments)
        }
        guard attachments > 0 else { return packet }
        pending = Pending(packet: packet, expected: attachments, attachments: [])
        pending?.attachments.reserveCapacity(attachments)
        return nil
    }
}
