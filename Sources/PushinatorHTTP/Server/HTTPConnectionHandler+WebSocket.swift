import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Switching a connection to WebSocket when its route accepted the upgrade.
extension HTTPConnectionHandler {
    func performUpgrade(_ upgrade: WebSocketUpgrade, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let configuration = upgrade.configuration ?? self.configuration.webSocket
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: configuration.maxMessageSize,
            automaticErrorHandling: false,  // WebSocketChannelHandler answers decoder errors (see its errorCaught)
            shouldUpgrade: { channel, _ in
                channel.eventLoop.makeSucceededFuture(HTTPHeaders(upgrade.headers))
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    let connection = try WebSocketPipeline.install(on: channel, configuration: configuration)
                    upgrade.onUpgrade(connection)
                    // The 101 waits unflushed: whatever `onUpgrade` wrote (an Engine.IO open packet) leaves with it,
                    // in one system call and one TCP segment, at the end of this event-loop tick.
                    connection.scheduleFlushOnLoop()
                }
            }
        )
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        upgrader.buildUpgradeResponse(channel: context.channel, upgradeRequest: head, initialResponseHeaders: [:])
            .hop(to: context.eventLoop)
            .whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .failure:
                    handler.perform(handler.machine.upgradeFailed(), response: nil, context: context)
                case .success(let headers):
                    guard handler.machine.upgradeAccepted() else { return }  // the connection went away meanwhile
                    handler.switchToWebSocket(upgrader: upgrader, head: head, headers: headers, context: context)
                }
            }
    }

    private func switchToWebSocket(
        upgrader: NIOWebSocketServerUpgrader,
        head: HTTPRequestHead,
        headers: HTTPHeaders,
        context: ChannelHandlerContext
    ) {
        let channel = context.channel
        var response = context.channel.allocator.buffer(capacity: 256)
        HTTPResponseHeadWriter.write(status: .switchingProtocols, headers: headers, into: &response)
        context.write(wrapOutboundOut(response), promise: nil)  // flushed with the first frames (see above)
        let sync = context.pipeline.syncOperations
        if let timer = handlers.timer { sync.removeHandler(timer, promise: nil) }
        // Adds the frame codec at the end of the pipeline, then our WebSocket handlers.
        upgrader.upgrade(context: context, upgradeRequest: head).whenFailure { _ in
            channel.close(promise: nil)
        }
        sync.removeHandler(context: context, promise: nil)
        // The decoder leaves last: bytes it holds beyond the handshake go on to the frame decoder.
        sync.removeHandler(handlers.decoder, promise: nil)
    }
}
