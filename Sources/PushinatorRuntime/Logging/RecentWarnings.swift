#if canImport(Glibc)
import Glibc
#endif
public import Logging
import Synchronization

/// The last warnings and errors the process logged, for a status page: a bounded ring, newest first.
///
/// Install its handler beside the real ones; it keeps only `warning` and above, each message cut to
/// ``maximumMessageLength`` bytes, so its memory stays bounded whatever is logged:
/// ```swift
/// let warnings = RecentWarnings()
/// LoggingSystem.bootstrap { label in MultiplexLogHandler([StreamLogHandler.standardOutput(label: label), warnings.handler(label: label)]) }
/// ```
public final class RecentWarnings: Sendable {
    /// One logged warning.
    public struct Entry: Sendable, Equatable {
        /// When it was logged, in seconds since 1970 (UTC).
        public let time: Int
        /// Its level (`warning`, `error` or `critical`).
        public let level: Logger.Level
        /// The message, then its metadata as `key=value`, cut to ``RecentWarnings/maximumMessageLength`` bytes.
        public let message: String
    }

    /// The longest message kept, in UTF-8 bytes; longer ones are cut and end with `…`.
    public static let maximumMessageLength = 300

    private struct Ring {
        var entries: [Entry] = []
        var next = 0
        var total = 0
    }

    /// How many entries are kept (older ones are forgotten).
    public let capacity: Int
    private let ring = Mutex(Ring())

    /// Creates an empty ring.
    /// - Parameter capacity: The number of warnings kept. Default 20.
    public init(capacity: Int = 20) {
        self.capacity = max(1, capacity)
    }

    /// The kept warnings, newest first.
    public var entries: [Entry] {
        ring.withLock { ring in
            guard ring.entries.count == capacity else { return ring.entries.reversed() }
            return Array((ring.entries[ring.next...] + ring.entries[..<ring.next]).reversed())
        }
    }

    /// Warnings logged since start (including those no longer kept).
    public var total: Int { ring.withLock { $0.total } }

    /// Records a warning logged now.
    public func record(_ level: Logger.Level, _ message: String) {
        record(level, message, time: Int(Glibc.time(nil)))
    }

    /// Records a warning logged at `time` (seconds since 1970).
    public func record(_ level: Logger.Level, _ message: String, time: Int) {
        var text = message
        if text.utf8.count > Self.maximumMessageLength {
            text = String(decoding: text.utf8.prefix(Self.maximumMessageLength - 3), as: UTF8.self) + "…"
        }
        let entry = Entry(time: time, level: level, message: text)
        ring.withLock { ring in
            ring.total += 1
            if ring.entries.count < capacity {
                ring.entries.append(entry)
            } else {
                ring.entries[ring.next] = entry
                ring.next = (ring.next + 1) % capacity
            }
        }
    }

    /// A log handler that records the `warning`, `error` and `critical` messages of `label` here.
    public func handler(label: String) -> some LogHandler {
        RecentWarningsLogHandler(warnings: self)
    }
}

/// Feeds ``RecentWarnings``: its level is always `warning`.
struct RecentWarningsLogHandler: LogHandler {
    let warnings: RecentWarnings
    var metadata: Logger.Metadata = [:]

    var logLevel: Logger.Level {
        get { .warning }
        set {}
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level >= .warning else { return }
        var all = self.metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        var text = "\(event.message)"
        for key in all.keys.sorted() { text += " \(key)=\(all[key]!)" }
        warnings.record(event.level, text)
    }
}
