import Logging

/// A handler that writes each event as text followed by its metadata as ` key=value` pairs sorted by key
/// (``FileLogHandler``, ``SyslogLogHandler``): the metadata subscript and the rendering are shared, the writing
/// is each handler's own.
protocol MetadataRenderingLogHandler: LogHandler {
    /// Writes one event; `suffix` is its metadata (the handler's, the provider's, the event's) rendered by
    /// ``LogRendering``, empty when there is none.
    func write(_ event: LogEvent, metadataSuffix suffix: String)
}

extension MetadataRenderingLogHandler {
    /// Gets or sets one metadata value.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes the event with its metadata.
    /// - Parameter event: The event.
    public func log(event: LogEvent) {
        write(event, metadataSuffix: LogRendering.metadataSuffix(handler: metadata, provider: metadataProvider, event: event.metadata))
    }
}
