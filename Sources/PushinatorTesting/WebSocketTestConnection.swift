import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A WebSocket client connection made with NIO's client upgrader, for test clients: frames arrive in a callback,
/// pings are answered, messages split in fragments are joined, and every frame sent is masked.
final class WebSocketTestConnection: Sendable {
    /// A complete message from the server.
    enum Message: Sendable {
        case text(ByteBuffer)
        case binary(ByteBuffer)
    }

    private enum UpgradeResult: Sendable {
        case upgraded(any Channel)
        case refused
    }

    let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Connects to `host:port` and upgrades `target` to a WebSocket.
    /// - Parameters:
    ///   - host: the server's address.
    ///   - port: the server's port.
    ///   - target: the request target (path and query).
    ///   - headers: extra header fields for the upgrade request.
    ///   - maxMessageSize: the largest message accepted from the server.
    ///   - onMessage: called on the channel's event loop with each message.
    ///   - onClose: called once when the connection closes.
    /// - Throws: ``SocketIOTestError/httpStatus(_:_:)`` when the server does not upgrade.
    static func connect(
        host: String,
        port: Int,
        target: String,
        headers: HTTPFields,
        maxMessageSize: Int,
        onMessage: @escaping @Sendable (Message) -> Void,
        onClose: @escaping @Sendable () -> Void
    ) async throws -> WebSocketTestConnection {
        let result: EventLoopFuture<UpgradeResult> = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketClientUpgrader<UpgradeResult>(
                        maxFrameSize: maxMessageSize,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                let handler = FrameHandler(onMessage: onMessage, onClose: onClose)
                                try channel.pipeline.syncOperations.addHandlers(
                                    NIOWebSocketFrameAggregator(
                                        minNonFinalFragmentSize: 0,
                                        maxAccumulatedFrameCount: 1024,
                                        maxAccumulatedFrameSize: maxMessageSize
                                    ),
                                    handler
                                )
                                return UpgradeResult.upgraded(channel)
                            }
                        }
                    )
                    var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target)
                    head.headers.add(name: "Host", value: "\(host):\(port)")
                    for field in headers { head.headers.add(name: field.name.rawName, value: field.value) }
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<UpgradeResult>(
                        upgradeRequestHead: head,
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.close(promise: nil)
                            return channel.eventLoop.makeSucceededFuture(.refused)
                        }
                    )
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                    // The server's first frame (the Engine.IO open packet) may arrive with the 101: keep it.
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: pipeline
                    )
                }
            }
        switch try await result.get() {
        case .upgraded(let channel):
            return WebSocketTestConnection(channel: channel)
        case .refused:
            throw SocketIOTestError.httpStatus(400, "the server did not upgrade \(target) to a WebSocket")
        }
    }

    /// Sends a text frame.
    func send(text: ByteBuffer) async throws {
        try await channel.writeAndFlush(Self.frame(.text, text)).get()
    }

    /// Sends a binary frame.
    func send(binary: ByteBuffer) async throws {
        try await channel.writeAndFlush(Self.frame(.binary, binary)).get()
    }

    /// Sends frames in order with one flush.
    func send(_ messages: [Message]) async throws {
        guard let last = messages.indices.last else { return }
        var future: EventLoopFuture<Void>?
        for (index, message) in messages.enumerated() {
            let frame: WebSocketFrame
            switch message {
            case .text(let bytes): frame = Self.frame(.text, bytes)
            case .binary(let bytes): frame = Self.frame(.binary, bytes)
            }
            if index == last { future = channel.writeAndFlush(frame) } else { channel.write(frame, promise: nil) }
        }
        try await future?.get()
    }

    /// Sends a close frame (1000) and closes the connection.
    func close() async {
        var code = ByteBuffer()
        code.writeInteger(UInt16(1000))
        try? await channel.writeAndFlush(Self.frame(.connectionClose, code)).get()
        try? await channel.close().get()
    }

    static func frame(_ opcode: WebSocketOpcode, _ data: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)
    }

    /// Hands messages to the callback; answers pings and the server's close frame.
    private final class FrameHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame

        let onMessage: @Sendable (Message) -> Void
        let onClose: @Sendable () -> Void

        init(onMessage: @escaping @Sendable (Message) -> Void, onClose: @escaping @Sendable () -> Void) {
            self.onMessage = onMessage
            self.onClose = onClose
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            switch frame.opcode {
            case .text:
                onMessage(.text(frame.unmaskedData))
            case .binary:
                onMessage(.binary(frame.unmaskedData))
            case .ping:
                context.writeAndFlush(wrapOutboundOut(WebSocketTestConnection.frame(.pong, frame.unmaskedData)), promise: nil)
            case .connectionClose:
                var code = frame.unmaskedData
                let reply = WebSocketTestConnection.frame(.connectionClose, code.readSlice(length: min(2, code.readableBytes))!)
                context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
                context.close(promise: nil)
            default:
                break
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            onClose()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
