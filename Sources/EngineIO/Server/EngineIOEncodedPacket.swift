public import NIOCore
import PushinatorHTTP

/// An Engine.IO packet already in its wire form, ready to be handed to many sessions without re-encoding.
///
/// Text packets hold the type digit followed by the text (`4["message","hi"]` for a Socket.IO event), which is
/// both the WebSocket text frame and the polling payload entry. Binary packets hold the bytes of a binary
/// message.
public struct EngineIOEncodedPacket: Sendable {
    enum Kind: Sendable {
        case text(ByteBuffer)
        case binary(ByteBuffer)
    }

    let kind: Kind
    /// The WebSocket frame of this packet (Engine.IO v4 form), encoded once for every WebSocket recipient.
    let frame: WebSocketEncodedFrame

    init(kind: Kind) {
        self.kind = kind
        switch kind {
        case .text(let text): frame = WebSocketEncodedFrame(text: text)
        case .binary(let bytes): frame = WebSocketEncodedFrame(binary: bytes)
        }
    }

    private init(kind: Kind, frame: WebSocketEncodedFrame) {
        self.kind = kind
        self.frame = frame
    }

    /// A text packet whose bytes (the type digit first) `write` appends. They are written once, straight into the
    /// WebSocket frame's buffer, and the packet's text is a view of them: one allocation and no copy (a text
    /// buffer copied into its frame took ~1.5k instructions of every packet).
    static func text(capacity: Int, _ write: (inout ByteBuffer) -> Void) -> Self {
        let (frame, text) = WebSocketEncodedFrame.text(capacity: capacity, writePayload: write)
        return Self(kind: .text(text), frame: frame)
    }

    /// A message packet whose text `writeText` writes after the `4` type digit.
    ///
    /// ```swift
    /// let packet = EngineIOEncodedPacket.message { buffer in buffer.writeString("hello") }
    /// ```
    public static func message(capacity: Int = 64, _ writeText: (inout ByteBuffer) -> Void) -> Self {
        text(capacity: capacity) { buffer in
            buffer.writeInteger(EngineIOPacketType.message.digit)
            writeText(&buffer)
        }
    }

    /// A message packet from a buffer that already starts with the `4` type digit.
    public static func message(encodedText: ByteBuffer) -> Self { Self(kind: .text(encodedText)) }

    /// A binary message packet.
    public static func binary(_ bytes: ByteBuffer) -> Self { Self(kind: .binary(bytes)) }

    /// A control packet (ping, pong, close, noop...) with optional text.
    static func control(_ type: EngineIOPacketType, text: String = "") -> Self {
        var buffer = ByteBuffer()
        buffer.writeInteger(type.digit)
        buffer.writeString(text)
        return Self(kind: .text(buffer))
    }

    /// The bytes this packet takes on the wire (before any base64).
    var byteCount: Int {
        switch kind {
        case .text(let buffer), .binary(let buffer): buffer.readableBytes
        }
    }

    /// The packet in decoded form, for the payload codecs of Engine.IO v3.
    var packet: EngineIOPacket {
        switch kind {
        case .text(var buffer):
            let digit = buffer.readInteger(as: UInt8.self) ?? EngineIOPacketType.noop.digit
            return EngineIOPacket(type: EngineIOPacketType(digit: digit) ?? .noop, payload: .text(buffer))
        case .binary(let buffer):
            return EngineIOPacket(type: .message, payload: .binary(buffer))
        }
    }

    /// The WebSocket frame of this packet for a client of `version`: the shared ``frame``, except for binary
    /// packets to Engine.IO v3 clients, which expect the `4` type byte in front of the bytes.
    func webSocketFrame(for version: EngineIOVersion) -> WebSocketEncodedFrame {
        guard version == .v3, case .binary(let bytes) = kind else { return frame }
        var framed = ByteBuffer()
        framed.reserveCapacity(bytes.readableBytes + 1)
        framed.writeInteger(EngineIOPacketType.message.rawValue)
        framed.writeImmutableBuffer(bytes)
        return WebSocketEncodedFrame(binary: framed)
    }
}
