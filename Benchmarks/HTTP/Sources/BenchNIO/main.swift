// A bare NIOHTTP1 server answering the two benchmark paths: the ceiling for any framework on NIO.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

final class Hello: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private var uri = ""
    private var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            uri = head.uri
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let text: String
            if uri == "/hello" {
                text = "Hello, world!"
            } else {
                let parts = uri.split(separator: "/")
                text = parts.count == 4 && parts[0] == "users" && parts[2] == "posts"
                    ? "user \(parts[1]) post \(parts[3])" : "Not Found"
            }
            var body = context.channel.allocator.buffer(capacity: text.utf8.count)
            body.writeString(text)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            headers.add(name: "content-length", value: String(body.readableBytes))
            if !keepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let keepAlive = self.keepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}

let arguments = CommandLine.arguments
let port = arguments.firstIndex(of: "--port").flatMap { Int(arguments[$0 + 1]) } ?? 8083
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let channel = try await ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
            channel.pipeline.addHandler(Hello())
        }
    }
    .bind(host: "127.0.0.1", port: port).get()
FileHandle.standardOutput.write(Data("LISTENING http://127.0.0.1:\(channel.localAddress?.port ?? port)\n".utf8))
try await channel.closeFuture.get()
