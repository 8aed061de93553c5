import Logging

/// A handler that wraps another one (``ControlledLevelLogHandler``, ``SanitizingLogHandler``): its metadata, one
/// key of it and its metadata provider are the inner handler's; the level and `log(event:)` are its own.
protocol ForwardingLogHandler: LogHandler {
    /// The handler the messages go to.
    var inner: any LogHandler { get set }
}

extension ForwardingLogHandler {
    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }
}
