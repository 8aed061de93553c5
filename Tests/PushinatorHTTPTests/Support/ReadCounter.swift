import NIOCore

/// Counts the reads that reach the socket, for `EmbeddedChannel` tests of read gating.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var reads = 0
    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}
