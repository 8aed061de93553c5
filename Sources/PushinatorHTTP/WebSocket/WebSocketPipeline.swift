import NIOCore
import NIOWebSocket

/// The handlers an upgraded connection gets behind NIO's frame codec.
enum WebSocketPipeline {
    /// Adds our handlers to `channel`, whose pipeline already holds NIO's `WebSocketFrameEncoder` and frame
    /// decoder: the memory gate (which also validates each frame), the fragment aggregator, the pre-encoded frame writer (in front of the frame
    /// encoder, which also holds reads back while the client is behind) and ``WebSocketChannelHandler``; bounds the
    /// outbound buffer with `maxBufferedBytes`. Call it on the channel's event loop.
    /// - Returns: The connection, with no delegate yet.
    static func install(on channel: any Channel, configuration: WebSocketConfiguration) throws -> WebSocketConnection {
        let sync = channel.pipeline.syncOperations
        let connection = WebSocketConnection(channel: channel, configuration: configuration)
        try sync.addHandler(WebSocketMemoryGate(connection: connection, budget: configuration.memoryBudget))
        try sync.addHandler(
            NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: 0,
                maxAccumulatedFrameCount: 1 << 16,
                maxAccumulatedFrameSize: configuration.maxMessageSize
            )
        )
        let encodedWriter = EncodedFrameWriter()
        encodedWriter.connection = connection
        try sync.addHandler(encodedWriter, position: .before(try sync.handler(type: WebSocketFrameEncoder.self)))
        connection.writerContext = try sync.context(handler: encodedWriter)
        try sync.addHandler(WebSocketChannelHandler(connection: connection))
        channel.setOption(
            .writeBufferWaterMark,
            value: .init(low: configuration.maxBufferedBytes / 2, high: configuration.maxBufferedBytes)
        ).whenComplete { _ in }
        return connection
    }
}
