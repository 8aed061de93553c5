// Fuzzes SocketIOPacketDecoder with sequences of messages, so that binary attachment reconstruction is reached:
// the input is split at 0x1E bytes; a part starting with 0x01 is a binary attachment (the rest of the part),
// any other part is a text message. Errors are fine; traps are not. Completed packets are encoded again.
import FuzzSupport
import NIOCore
import PushinatorJSON
import PushinatorSocketIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocketIODecoder(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    var decoder = SocketIOPacketDecoder(configuration: .init(maxAttachments: 4, jsonOptions: .init(maxDepth: 32)))
    for part in input.split(separator: 0x1E, omittingEmptySubsequences: false) {
        let packet: SocketIOPacket?
        if part.first == 0x01 {
            packet = try? decoder.decode(binary: ByteBuffer(bytes: part.dropFirst()))
        } else {
            packet = try? decoder.decode(text: ByteBuffer(bytes: part))
        }
        if let packet {
            _ = packet.eventName
            _ = packet.arguments
            var out = ByteBuffer()
            let attachments = packet.encode(into: &out)
            // what we encode we must decode again
            var again = SocketIOPacketDecoder(
                configuration: .init(maxAttachments: .max, jsonOptions: .init(maxDepth: 256))
            )
            var decoded = try? again.decode(text: out)
            for attachment in attachments { decoded = try? again.decode(binary: attachment) }
            precondition(decoded != nil, "an encoded packet does not decode: \(String(buffer: out))")
        }
    }
    return 0
}

@_cdecl("FuzzSocketIODecoder_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSocketIODecoder)
}
