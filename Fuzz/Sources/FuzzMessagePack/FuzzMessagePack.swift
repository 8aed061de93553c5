// Fuzzes PushinatorMessagePack: MessagePackDecoder must throw or return, never trap or allocate beyond the input;
// what it returns must encode and decode back to the same value, and its JSON form (when it has one) must be a
// fixed point of encode/decode.
import FuzzSupport
import NIOCore
import PushinatorJSON
import PushinatorMessagePack

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessagePack(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let decoder = MessagePackDecoder(limits: MessagePackLimits(maxDepth: 32, maxInputSize: 1 << 16))
    guard let value = try? decoder.decode(bytes) else { return 0 }
    let encoded = value.encoded
    guard let again = try? decoder.decode(encoded) else { fatalError("the encoder's output does not decode: \(value)") }
    precondition(again == value, "decode(encode(value)) != value: \(value) / \(again)")
    precondition(again.encoded == encoded, "the encoder's output is not a fixed point: \(value)")
    guard let json = try? JSONValue(messagePack: value) else { return 0 }
    let jsonBytes = json.messagePack
    guard let jsonAgain = try? JSONValue(messagePack: jsonBytes, limits: decoder.limits) else {
        fatalError("the JSON form does not decode: \(json)")
    }
    precondition(jsonAgain.messagePack == jsonBytes, "the JSON form is not a fixed point: \(json)")
    return 0
}

@_cdecl("FuzzMessagePack_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzMessagePack)
}
