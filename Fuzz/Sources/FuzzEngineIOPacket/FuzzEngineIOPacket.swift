// Fuzzes the Engine.IO WebSocket frame codec: text and binary frames, v4 and v3. The first input byte picks the
// frame kind and version; a decoded packet must encode back without trapping.
import FuzzSupport
import EngineIO
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngineIOPacket(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard let selector = input.first else { return 0 }
    let frame = ByteBuffer(bytes: input.dropFirst())
    let version: EngineIOVersion = selector & 1 == 0 ? .v4 : .v3
    let packet: EngineIOPacket?
    if selector & 2 == 0 {
        packet = try? EngineIOPacket(webSocketText: frame, version: version)
    } else {
        packet = try? EngineIOPacket(webSocketBinary: frame, version: version)
    }
    if let packet {
        var out = ByteBuffer()
        packet.writeWebSocketFrame(to: &out, version: version)
    }
    return 0
}

@_cdecl("FuzzEngineIOPacket_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzEngineIOPacket)
}
