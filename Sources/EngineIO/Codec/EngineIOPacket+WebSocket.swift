public import NIOCore

extension EngineIOPacket {
    /// Decodes a WebSocket text frame, such as `4hello` or `2probe`.
    /// - Parameters:
    ///   - frame: The frame's UTF-8 payload; the packet's text is a slice of it, not a copy.
    ///   - version: The protocol revision of the session.
    /// - Throws: ``EngineIOParseError`` for an empty frame, an unknown type or bad base64.
    public init(webSocketText frame: ByteBuffer, version: EngineIOVersion = .v4) throws(EngineIOParseError) {
        self = try Self.decodeText(frame, version: version)
    }

    /// Decodes a WebSocket text frame given as a string.
    /// - Parameters:
    ///   - frame: The frame's text.
    ///   - version: The protocol revision of the session.
    /// - Throws: ``EngineIOParseError`` for an empty frame, an unknown type or bad base64.
    public init(webSocketText frame: String, version: EngineIOVersion = .v4) throws(EngineIOParseError) {
        self = try Self.decodeText(ByteBuffer(string: frame), version: version)
    }

    /// Decodes a WebSocket binary frame.
    ///
    /// In v4 the frame's bytes are a binary message; in v3 the first byte is the packet type (`0x04`).
    /// - Parameters:
    ///   - frame: The frame's payload.
    ///   - version: The protocol revision of the session.
    /// - Throws: ``EngineIOParseError`` for an empty v3 frame or an unknown type byte.
    public init(webSocketBinary frame: ByteBuffer, version: EngineIOVersion = .v4) throws(EngineIOParseError) {
        switch version {
        case .v4:
            self.init(type: .message, payload: .binary(frame))
        case .v3:
            var rest = frame
            guard let byte = rest.readInteger(as: UInt8.self) else {
                throw EngineIOParseError(.emptyPacket, "empty binary packet")
            }
            guard let type = EngineIOPacketType(rawValue: byte) else { throw .unknownType(byte) }
            self.init(type: type, payload: .binary(rest))
        }
    }

    /// Appends what a WebSocket frame carries for this packet: the text form for a text payload (send it as a
    /// text frame) or the binary form for a binary payload (send it as a binary frame, see ``isBinary``).
    ///
    /// In v4 a binary frame holds the bytes alone (the type is implied to be ``EngineIOPacketType/message``);
    /// in v3 it starts with the type byte.
    /// - Parameters:
    ///   - buffer: The buffer to append to.
    ///   - version: The protocol revision of the session.
    public func writeWebSocketFrame(to buffer: inout ByteBuffer, version: EngineIOVersion = .v4) {
        switch payload {
        case .text(let text):
            buffer.writeInteger(type.digit)
            buffer.writeImmutableBuffer(text)
        case .binary(let bytes):
            if version == .v3 { buffer.writeInteger(type.rawValue) }
            buffer.writeImmutableBuffer(bytes)
        }
    }
}
