import NIOCore

/// The handlers of an upgraded connection.
enum WebSocketPipeline {
    /// Adds, at the end of `channel`'s pipeline: the writer of encoded frames (every frame the server sends is
    /// encoded as bytes by ``WebSocketEncodedFrame``; the writer also holds reads back while the client is behind),
    /// and ``WebSocketChannelHandler`` (framing, validation, memory budget, reassembly, delivery); bounds the outbound
    /// buffer with `maxBufferedBytes`. Call it on the channel's event loop.
    /// - Returns: The connection, with no delegate yet.
    static func install(on channel: any Channel, configuration: WebSocketConfiguration) throws -> WebSocketConnection {
        // Every handler is named: one added without a name gets one made by string interpolation.
        let sync = channel.pipeline.syncOperations
        let connection = WebSocketConnection(channel: channel, configuration: configuration)
        let encodedWriter = EncodedFrameWriter()
        encodedWriter.connection = connection
        try sync.addHandler(encodedWriter, name: "ws-encoded-frame-writer")
        connection.writerContext = try sync.context(handler: encodedWriter)
        try sync.addHandler(WebSocketChannelHandler(connection: connection, configuration: configuration), name: "ws-connection")
        let watermark = ChannelOptions.Types.WriteBufferWaterMark(
            low: configuration.maxBufferedBytes / 2,
            high: configuration.maxBufferedBytes
        )
        if let options = channel.syncOptions {
            try? options.setOption(.writeBufferWaterMark, value: watermark)  // fails only once the channel closed
        } else {
            channel.setOption(.writeBufferWaterMark, value: watermark).whenComplete { _ in }
        }
        return connection
    }
}
