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
    if selector & 1 == 0 { checkHeaderSkim(bytes, decoder: decoder) }
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

/// ClusterNotificationHeader.skim never traps, and where it answers for text the parser also reads, they agree on
/// whether the top-level `uid` is the one given and on the log id.
func checkHeaderSkim(_ bytes: UnsafeRawBufferPointer, decoder: ClusterMessageDecoder) {
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    let value = try? decoder.parseJSON(bytes)
    let uid = value?["uid"]?.string ?? "a1b2c3d4e5f60718"
    guard let header = ClusterNotificationHeader.skim(text, uid: uid), let value else { return }
    precondition(header.isFromUID == (value["uid"]?.string == uid), "the skim and the parser disagree on the uid: \(text)")
    if let logID = header.logID {
        precondition(value["pushinatorLogId"]?.int.map(Int64.init) == logID, "the skim and the parser disagree on the log id: \(text)")
    }
}

@_cdecl("FuzzClusterMessage_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzClusterMessage)
}
