// Fuzzes the WebSocket layer we own: raw client bytes go through the pipeline an upgraded connection gets
// (WebSocketPipeline: the encoded-frame writer and WebSocketChannelHandler, whose WebSocketFrameParser cuts the
// frames, then validation, the memory budget and reassembly) into a WebSocketConnection. Whatever the bytes, the
// pipeline must deliver valid messages, answer or close, and never trap.
import FuzzSupport
import NIOCore
import NIOEmbedded
@testable import PushinatorHTTP

final class Sink: WebSocketDelegate {
    var messages = 0
    func webSocket(_ connection: WebSocketConnection, didReceive message: WebSocketMessage) {
        if case .text(let buffer) = message {
            precondition(String(validating: buffer.readableBytesView, as: UTF8.self) != nil, "invalid UTF-8 delivered")
        }
        precondition(message.buffer.readableBytes <= 4096, "a message over the limit was delivered")
        messages += 1
    }
    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {}
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let configuration = WebSocketConfiguration(maxMessageSize: 4096, maxBufferedBytes: 1 << 16)
    let channel = EmbeddedChannel()
    let sink = Sink()
    do {
        // exactly what the server adds after the upgrade
        let connection = try WebSocketPipeline.install(on: channel, configuration: configuration)
        connection.delegate = sink
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        // deliver in two reads, so that frames split across reads are covered too
        let cut = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
        _ = try? channel.writeInbound(ByteBuffer(bytes: input[..<cut]))
        if channel.isActive { _ = try? channel.writeInbound(ByteBuffer(bytes: input[cut...])) }
        channel.embeddedEventLoop.run()
        while let _ = try? channel.readOutbound(as: ByteBuffer.self) {}
    } catch {}
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return 0
}

@_cdecl("FuzzWebSocket_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzWebSocket)
}
