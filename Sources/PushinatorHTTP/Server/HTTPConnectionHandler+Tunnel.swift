import HTTPTypes
import NIOCore
import NIOHTTP1

/// Relaying a WebSocket upgrade that another server accepted (``HTTPForwardingClient``): its `101` goes to the
/// client as received, then the connection becomes a byte pipe to that server.
extension HTTPConnectionHandler {
    func performTunnel(_ tunnel: HTTPTunnel, context: ChannelHandlerContext) {
        guard tunnel.upstream.eventLoop === context.eventLoop else {  // the forwarding client connects on this loop
            tunnel.close()
            perform(machine.upgradeFailed(), response: nil, context: context)
            return
        }
        guard machine.upgradeAccepted() else {  // the connection went away meanwhile
            tunnel.close()
            return
        }
        var response = context.channel.allocator.buffer(capacity: 256)
        HTTPResponseHeadWriter.write(status: .switchingProtocols, headers: tunnel.headers, into: &response)
        context.writeAndFlush(wrapOutboundOut(response), promise: nil)
        let local = TunnelHandler()
        let sync = context.pipeline.syncOperations
        do {
            try sync.addHandler(local)
        } catch {
            tunnel.close()
            context.close(promise: nil)
            return
        }
        TunnelHandler.pair(local, tunnel.upstream.bound.value)
        if let timer = handlers.timer { sync.removeHandler(timer, promise: nil) }
        sync.removeHandler(context: context, promise: nil)
        // The decoder leaves last: bytes the client sent right behind its request go on through the pipe.
        sync.removeHandler(handlers.decoder, promise: nil)
    }
}
