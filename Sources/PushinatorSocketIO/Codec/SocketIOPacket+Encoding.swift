public import NIOCore
import PushinatorJSON

extension SocketIOPacket {
    /// Appends the text form of this packet to `buffer` and returns its binary attachments.
    ///
    /// Each ``JSONValue/binary(_:)`` inside ``data`` is replaced, depth first, by
    /// `{"_placeholder":true,"num":N}`, and an EVENT or ACK becomes a BINARY_EVENT or BINARY_ACK. Bytes already
    /// in the buffer are kept, so the caller can write the Engine.IO `4` prefix first. Binary values in packets
    /// of other types are written as base64 strings.
    /// - Parameter buffer: The buffer to append to.
    /// - Returns: The attachments, to send as binary frames after the text, in order.
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> [ByteBuffer] {
        var type = self.type
        let binaryCount: Int
        switch type {
        case .event, .ack, .binaryEvent, .binaryAck: binaryCount = data.map(SocketIOBinary.count(in:)) ?? 0
        default: binaryCount = 0
        }
        if binaryCount > 0 {
            if type == .event { type = .binaryEvent }
            if type == .ack { type = .binaryAck }
        }
        buffer.writeInteger(type.digit)
        if type.isBinary {
            JSONValue.integer(binaryCount).write(to: &buffer)
            buffer.writeInteger(UInt8(ascii: "-"))
        }
        if !namespace.isEmpty && namespace != "/" {
            buffer.writeString(namespace)
            buffer.writeInteger(UInt8(ascii: ","))
        }
        if let ackID {
            JSONValue.integer(ackID).write(to: &buffer)
        }
        guard let data else { return [] }
        if binaryCount == 0 {
            data.write(to: &buffer)
            return []
        }
        var attachments: [ByteBuffer] = []
        attachments.reserveCapacity(binaryCount)
        SocketIOBinary.deconstruct(data, attachments: &attachments).write(to: &buffer)
        return attachments
    }

    /// The text form of this packet and its binary attachments, for tests and logs.
    /// - Returns: The text (without an Engine.IO prefix) and the attachments.
    public func encoded() -> (text: String, attachments: [ByteBuffer]) {
        var buffer = ByteBuffer()
        let attachments = encode(into: &buffer)
        return (String(buffer: buffer), attachments)
    }
}
