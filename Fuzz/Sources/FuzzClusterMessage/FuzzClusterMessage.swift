// Fuzzes PushinatorCluster's ClusterMessageDecoder: the first byte picks JSON (even) or MessagePack (odd) for the
// rest. Decoding must throw a ClusterMessageError or return, never trap; a decoded message must encode to
// MessagePack that decodes to a message with the same encoding, and (from JSON) to JSON text that is a fixed point.
import FuzzSupport
import NIOCore
import PushinatorCluster
import PushinatorJSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClusterMessage(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let all = UnsafeRawBufferPointer(start: start, count: count)
    let selector = all[0]
    let bytes = UnsafeRawBufferPointer(rebasing: all[1...])
    let decoder = ClusterMessageDecoder(limits: .init(maxMessageBytes: 1 << 16, maxDepth: 32))
    let message: ClusterMessage
    do {
        if selector & 1 == 0 {
            message = try decoder.decode(json: bytes, channelNamespace: selector & 2 == 0 ? nil : "/")
        } else {
            message = try decoder.decode(messagePack: ByteBuffer(bytes: bytes), channelNamespace: "/")
        }
    } catch {
        _ = error.description
        return 0
    }
    let packed = message.jsonValue.messagePack
    guard let unpacked = try? decoder.decode(messagePack: packed) else {
        fatalError("a decoded message does not decode from its MessagePack: \(message)")
    }
    precondition(unpacked.jsonValue.messagePack == packed, "MessagePack round trip changed \(message)")
    if selector & 1 == 0 {
        let text = message.jsonValue.jsonString
        guard let again = try? decoder.decode(json: Array(text.utf8)) else {
            fatalError("a decoded message does not decode from its JSON: \(text)")
        }
        precondition(again.jsonValue.jsonString == text, "the JSON text is not a fixed point: \(text)")
    }
    return 0
}

@_cdecl("FuzzClusterMessage_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzClusterMessage)
}
