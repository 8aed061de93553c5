import NIOCore
import PushinatorJSON

/// Parses the text form of one Socket.IO packet (after the Engine.IO `4` prefix), following socket.io-parser.
struct SocketIOPacketParser {
    let maxAttachments: Int
    let jsonOptions: JSONParser.Options

    /// The packet and, for binary packets, the number of attachments it announces.
    func parse(_ bytes: UnsafeRawBufferPointer) throws(SocketIOParseError) -> (packet: SocketIOPacket, attachments: Int) {
        guard let first = bytes.first else { throw SocketIOParseError(.emptyPacket, "empty packet") }
        guard first >= UInt8(ascii: "0"), let type = SocketIOPacketType(rawValue: first &- UInt8(ascii: "0")) else {
            throw SocketIOParseError(.unknownPacketType, "unknown packet type \(Self.describe(first))")
        }
        var index = 1
        var attachments = 0
        if type.isBinary {
            let start = index
            while index < bytes.count, Self.isDigit(bytes[index]), index - start < 10 {
                attachments = attachments * 10 + Int(bytes[index] &- UInt8(ascii: "0"))
                index += 1
            }
            guard index > start, index < bytes.count, bytes[index] == UInt8(ascii: "-") else {
                throw SocketIOParseError(.invalidAttachmentCount, "illegal attachments")
            }
            index += 1
            guard attachments <= maxAttachments else {
                throw SocketIOParseError(
                    .tooManyAttachments,
                    "too many attachments: \(attachments) (at most \(maxAttachments))"
                )
            }
        }
        var namespace = "/"
        if index < bytes.count, bytes[index] == UInt8(ascii: "/") {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ",") { index += 1 }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index]).assumingMemoryBound(to: UInt8.self)
            guard let name = String(validating: raw, as: UTF8.self) else {
                throw SocketIOParseError(.invalidNamespace, "namespace is not valid UTF-8")
            }
            namespace = name
            if index < bytes.count { index += 1 }  // the comma
        }
        var ackID: Int? = nil
        if index < bytes.count, Self.isDigit(bytes[index]) {
            var id = 0
            while index < bytes.count, Self.isDigit(bytes[index]) {
                let (times, o1) = id.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(Int(bytes[index] &- UInt8(ascii: "0")))
                guard !o1 && !o2 else { throw SocketIOParseError(.invalidAckID, "ack id is too large") }
                id = sum
                index += 1
            }
            ackID = id
        }
        var data: JSONValue? = nil
        if index < bytes.count {
            do {
                data = try JSONParser(options: jsonOptions).parse(UnsafeRawBufferPointer(rebasing: bytes[index...]))
            } catch {
                throw SocketIOParseError(.invalidJSON, "invalid JSON payload: \(error)")
            }
        }
        let packet = SocketIOPacket(type: type, namespace: namespace, ackID: ackID, data: data)
        try Self.validate(packet)
        return (packet, attachments)
    }

    static let reservedEvents: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    /// Checks the payload shape per packet type, like socket.io-parser's `isPayloadValid`.
    static func validate(_ packet: SocketIOPacket) throws(SocketIOParseError) {
        switch packet.type {
        case .connect:
            guard packet.data == nil || packet.data?.object != nil else {
                throw invalidPayload(packet, "must be an object or absent")
            }
        case .disconnect:
            guard packet.data == nil else { throw invalidPayload(packet, "must be absent") }
        case .connectError:
            switch packet.data {
            case nil, .string?, .object?: break
            default: throw invalidPayload(packet, "must be a string or an object")
            }
        case .event, .binaryEvent:
            guard case .array(let elements)? = packet.data, let first = elements.first else {
                throw invalidPayload(packet, "must be a non-empty array")
            }
            switch first {
            case .integer: break
            case .double(let number) where number.isFinite: break  // `1e400` would be sent back as `null`
            case .string(let name) where !reservedEvents.contains(name): break
            case .string(let name): throw invalidPayload(packet, "uses the reserved event name \"\(name)\"")
            default: throw invalidPayload(packet, "must start with an event name")
            }
        case .ack, .binaryAck:
            guard case .array? = packet.data else { throw invalidPayload(packet, "must be an array") }
            guard packet.ackID != nil else {
                throw SocketIOParseError(.invalidAckID, "\(name(of: packet.type)) packet without an ack id")
            }
        }
    }

    private static func invalidPayload(_ packet: SocketIOPacket, _ rule: String) -> SocketIOParseError {
        let found = packet.data.map { " (found \($0.kindName))" } ?? ""
        return SocketIOParseError(.invalidPayload, "invalid payload for \(name(of: packet.type)): \(rule)\(found)")
    }

    static func name(of type: SocketIOPacketType) -> String {
        switch type {
        case .connect: "CONNECT"
        case .disconnect: "DISCONNECT"
        case .event: "EVENT"
        case .ack: "ACK"
        case .connectError: "CONNECT_ERROR"
        case .binaryEvent: "BINARY_EVENT"
        case .binaryAck: "BINARY_ACK"
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "0x" + String(byte, radix: 16, uppercase: true)
    }
}
