import HTTPTypes
import NIOCore
import NIOHTTP1

/// Switching a connection to WebSocket when its route accepted the upgrade.
///
/// Done here, synchronously, rather than with NIO's `NIOWebSocketServerUpgrader`, whose futures, closures and
/// `HTTPHeaders` copies (the response headers built, then written) cost about a third of a connect: the checks and
/// the `101` are ``WebSocketHandshake``'s and ``HTTPResponseHeadWriter``'s; the frames are then cut by
/// ``WebSocketChannelHandler`` (``WebSocketFrameParser``).
extension HTTPConnectionHandler {
    func performUpgrade(_ upgrade: WebSocketUpgrade, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard let key = WebSocketHandshake.key(of: head) else {
            perform(machine.upgradeFailed(), response: nil, context: context)
            return
        }
        guard machine.upgradeAccepted() else { return }  // the connection went away meanwhile
        var response = context.channel.allocator.buffer(capacity: 256)
        HTTPResponseHeadWriter.writeWebSocketAccept(fields: upgrade.headers, key: key, into: &response)
        context.write(wrapOutboundOut(response), promise: nil)  // flushed with the first frames (see below)
        let sync = context.pipeline.syncOperations
        if let timer = handlers.timer { sync.removeHandler(timer, promise: nil) }
        do {
            // Our two WebSocket handlers, at the end of the pipeline.
            let configuration = upgrade.configuration ?? self.configuration.webSocket
            let connection = try WebSocketPipeline.install(on: context.channel, configuration: configuration)
            upgrade.onUpgrade(connection)
            // The 101 waits unflushed: whatever `onUpgrade` wrote (an Engine.IO open packet) leaves with it, in
            // one system call and one TCP segment, at the end of this event-loop tick.
            connection.scheduleFlushOnLoop()
        } catch {
            context.channel.close(promise: nil)
        }
        sync.removeHandler(context: context, promise: nil)
        // The decoder leaves last: bytes it holds beyond the handshake go on to the WebSocket handler.
        sync.removeHandler(handlers.decoder, promise: nil)
    }
}
