// Fuzzes EngineIOPollingCodec.decode: the v4 record-separated payload, and v3's text (`<length>:<packet>`) and
// XHR2 binary formats. The first input byte picks the version; decoded packets must encode back.
import FuzzSupport
import EngineIO
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngineIOPolling(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard let selector = input.first else { return 0 }
    let version: EngineIOVersion = selector & 1 == 0 ? .v4 : .v3
    let codec = EngineIOPollingCodec(version: version, configuration: .init(maxPackets: 256, maxPayloadBytes: 1 << 16))
    guard let packets = try? codec.decode(ByteBuffer(bytes: input.dropFirst())) else { return 0 }
    var out = ByteBuffer()
    codec.encode(packets, into: &out, supportsBinary: selector & 2 == 0)
    // what the codec writes it must read back: same number of packets, same types
    if let again = try? codec.decode(out) {
        precondition(again.map(\.type) == packets.map(\.type), "polling payload does not round-trip")
    } else if !packets.isEmpty, out.readableBytes <= 1 << 16 {
        fatalError("the codec cannot read back what it wrote: \(String(buffer: out))")
    }
    return 0
}

@_cdecl("FuzzEngineIOPolling_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzEngineIOPolling)
}
