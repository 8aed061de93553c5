import NIOCore

/// Sits right after the TLS/transport end of a WebSocket pipeline: a ``WebSocketConnection`` writes
/// ``WebSocketEncodedFrame`` bytes through its context (the pipeline has no frame encoder: every frame the server
/// sends is already bytes).
///
/// Every read request passes it on its way to the socket, so it is also where reads are held back while the client
/// is behind on the frames queued for it (the connection's state decides).
final class EncodedFrameWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The connection whose state gates reads. Strong, not `weak`: a weak reference anywhere gives the connection a
    /// refcount side table, which makes every retain and release of it (several per broadcast recipient) take the
    /// runtime's slow path. The cycle through the connection's `writerContext` is broken when the pipeline removes
    /// this handler (and when the connection closes).
    var connection: WebSocketConnection?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if connection?.readRequested() ?? true { context.read() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection = nil
    }
}
