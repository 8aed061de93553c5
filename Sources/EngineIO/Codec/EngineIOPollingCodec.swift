public import NIOCore

/// Encodes and decodes the bodies of HTTP long-polling requests and responses.
///
/// - v4: packets joined by the record separator `0x1E`, binary as `b<base64>`.
/// - v3: `<length>:<packet>` with the length in UTF-16 code units and binary as `b4<base64>`, or, when the
///   client supports binary, the XHR2 binary format (`0x00`/`0x01`, length digits, `0xFF`, data).
///
/// ```swift
/// let codec = EngineIOPollingCodec(version: .v4)
/// let packets = try codec.decode(requestBody)
/// var body = ByteBuffer()
/// let format = codec.encode(outbound, into: &body)   // Content-Type: format.contentType
/// ```
public struct EngineIOPollingCodec: Sendable {
    /// Limits applied while decoding.
    public struct Configuration: Sendable, Hashable {
        /// The most packets one payload may hold.
        public var maxPackets: Int
        /// The largest payload accepted, in bytes (Engine.IO's `maxHttpBufferSize`).
        public var maxPayloadBytes: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - maxPackets: The most packets one payload may hold (default 1024).
        ///   - maxPayloadBytes: The largest payload accepted, in bytes (default 1,000,000).
        public init(maxPackets: Int = 1024, maxPayloadBytes: Int = 1_000_000) {
            self.maxPackets = maxPackets
            self.maxPayloadBytes = maxPayloadBytes
        }
    }

    /// How an encoded payload is laid out, which decides its `Content-Type`.
    public enum Format: Sendable, Hashable {
        /// Text (`text/plain; charset=UTF-8`).
        case text
        /// The v3 XHR2 binary format (`application/octet-stream`).
        case binary

        /// The `Content-Type` header value for a payload in this format.
        public var contentType: String {
            switch self {
            case .text: "text/plain; charset=UTF-8"
            case .binary: "application/octet-stream"
            }
        }
    }

    /// The protocol revision.
    public let version: EngineIOVersion
    /// The limits in force.
    public let configuration: Configuration

    /// Creates a codec.
    /// - Parameters:
    ///   - version: The protocol revision of the session.
    ///   - configuration: The decoding limits.
    public init(version: EngineIOVersion = .v4, configuration: Configuration = .init()) {
        self.version = version
        self.configuration = configuration
    }

    /// Decodes a polling request body into packets.
    ///
    /// A v3 body starting with `0x00` or `0x01` is read as the XHR2 binary format, any other as text.
    /// - Parameter body: The body bytes; text payloads are slices of it, not copies.
    /// - Returns: The packets, in order.
    /// - Throws: ``EngineIOParseError`` for malformed bodies and exceeded limits.
    public func decode(_ body: ByteBuffer) throws(EngineIOParseError) -> [EngineIOPacket] {
        guard body.readableBytes <= configuration.maxPayloadBytes else {
            throw EngineIOParseError(
                .payloadTooLarge,
                "payload of \(body.readableBytes) bytes exceeds the limit of \(configuration.maxPayloadBytes)"
            )
        }
        guard body.readableBytes > 0 else { throw EngineIOParseError(.emptyPacket, "empty payload") }
        var packets: [EngineIOPacket] = []
        switch version {
        case .v4:
            try EngineIOPayloadV4.decode(body, into: &packets, limit: configuration.maxPackets)
        case .v3:
            if let first = body.getInteger(at: body.readerIndex, as: UInt8.self), first <= 1 {
                try EngineIOPayloadV3Binary.decode(body, into: &packets, limit: configuration.maxPackets)
            } else {
                try EngineIOPayloadV3Text.decode(body, into: &packets, limit: configuration.maxPackets)
            }
        }
        return packets
    }

    /// Decodes a polling request body given as a string (text formats only).
    /// - Parameter body: The body text.
    /// - Returns: The packets, in order.
    /// - Throws: ``EngineIOParseError`` for malformed bodies and exceeded limits.
    public func decode(_ body: String) throws(EngineIOParseError) -> [EngineIOPacket] {
        try decode(ByteBuffer(string: body))
    }

    /// Appends the polling response body for `packets`.
    /// - Parameters:
    ///   - packets: The packets, in order.
    ///   - buffer: The buffer to append to.
    ///   - supportsBinary: Whether a v3 client accepts the XHR2 binary format (its request had no `b64=1`);
    ///     ignored in v4.
    /// - Returns: The format written, for the `Content-Type` header.
    @discardableResult
    public func encode(
        _ packets: some Collection<EngineIOPacket>,
        into buffer: inout ByteBuffer,
        supportsBinary: Bool = true
    ) -> Format {
        switch version {
        case .v4:
            EngineIOPayloadV4.encode(packets, into: &buffer)
            return .text
        case .v3:
            if supportsBinary && packets.contains(where: \.isBinary) {
                EngineIOPayloadV3Binary.encode(packets, into: &buffer)
                return .binary
            }
            EngineIOPayloadV3Text.encode(packets, into: &buffer)
            return .text
        }
    }
}

extension EngineIOParseError {
    static func tooManyPackets(_ limit: Int) -> Self {
        .init(.tooManyPackets, "payload holds more than \(limit) packets")
    }
}
