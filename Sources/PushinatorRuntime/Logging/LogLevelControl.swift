public import Logging
import Synchronization

/// A log level that can change while the process runs (on SIGHUP reload, for example).
///
/// ```swift
/// let level = LogLevelControl(.info)
/// LoggingSystem.bootstrap(level.wrapping(try destination.makeFactory(logLevel: .trace)))
/// level.level = .debug   // every logger follows
/// ```
public final class LogLevelControl: Sendable {
    private let current: Mutex<Logger.Level>

    /// Creates a control starting at `level`.
    public init(_ level: Logger.Level) { current = Mutex(level) }

    /// The level every wrapped handler uses now.
    public var level: Logger.Level {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }

    /// A handler factory whose handlers take their level from this control.
    public func wrapping(
        _ factory: @escaping @Sendable (String, Logger.MetadataProvider?) -> any LogHandler
    ) -> @Sendable (String, Logger.MetadataProvider?) -> any LogHandler {
        { label, provider in ControlledLevelLogHandler(inner: factory(label, provider), control: self) }
    }
}

/// Forwards to another handler, with the level of a ``LogLevelControl``.
struct ControlledLevelLogHandler: ForwardingLogHandler {
    var inner: any LogHandler
    let control: LogLevelControl

    var logLevel: Logger.Level {
        get { control.level }
        set {}  // the control decides
    }

    func log(event: LogEvent) {
        inner.log(event: event)
    }
}
