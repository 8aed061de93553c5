public import Logging

/// Makes log text safe to write: control characters escaped, long values truncated.
///
/// Values that come from clients (user ids, namespaces, event names, headers) end up in log lines. Unescaped, a
/// `\n` or `\r` in them writes a forged line and escape sequences drive the terminal; unbounded, a 900 kB user
/// id writes a 900 kB line. ``LogDestination`` applies a sanitizer to every destination (standard output and
/// error, files, syslog); apps that build their own handlers can wrap them with ``wrapping(_:)``.
///
/// Escaped: C0 controls and DEL (`\n`, `\r`, `\t`, others as `\x1B`), C1 controls, U+2028/U+2029 (line and
/// paragraph separators) and the bidirectional overrides (U+202A-U+202E, U+2066-U+2069), as `\u{2028}`.
public struct LogSanitizer: Sendable {
    /// The longest metadata value kept, in characters; the rest is replaced by `…(N more)`.
    public var maximumValueLength: Int
    /// The longest message kept, in characters.
    public var maximumMessageLength: Int

    /// The default: values up to 512 characters, messages up to 4,096.
    public static let standard = LogSanitizer()

    /// Creates a sanitizer.
    public init(maximumValueLength: Int = 512, maximumMessageLength: Int = 4096) {
        self.maximumValueLength = max(1, maximumValueLength)
        self.maximumMessageLength = max(1, maximumMessageLength)
    }

    /// `text` with control characters escaped and at most `limit` characters kept.
    public func clean(_ text: String, limit: Int) -> String {
        var needsWork = false
        var count = 0
        for scalar in text.unicodeScalars {
            count += 1
            if count > limit || Self.mustEscape(scalar) {
                needsWork = true
                break
            }
        }
        guard needsWork else { return text }
        var result = ""
        var kept = 0
        var characters = text.unicodeScalars.makeIterator()
        while kept < limit, let scalar = characters.next() {
            kept += 1
            guard Self.mustEscape(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result += scalar.value < 0x100 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{" + hex + "}"
            }
        }
        var rest = 0
        while characters.next() != nil { rest += 1 }
        if rest > 0 { result += "…(\(rest) more)" }
        return result
    }

    /// The metadata value, rendered as text and cleaned.
    public func clean(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let text): .string(clean(text, limit: maximumValueLength))
        default: .string(clean(value.description, limit: maximumValueLength))
        }
    }

    /// A handler factory whose handlers clean every message and metadata value before `factory`'s see them.
    public func wrapping(
        _ factory: @escaping @Sendable (String, Logger.MetadataProvider?) -> any LogHandler
    ) -> @Sendable (String, Logger.MetadataProvider?) -> any LogHandler {
        { label, provider in SanitizingLogHandler(inner: factory(label, provider), sanitizer: self, provider: provider) }
    }

    static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}

/// Forwards to another handler with the message and all metadata (its own, the provider's, the event's) cleaned.
struct SanitizingLogHandler: ForwardingLogHandler {
    var inner: any LogHandler
    let sanitizer: LogSanitizer
    let provider: Logger.MetadataProvider?

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(sanitizer.clean(event.message.description, limit: sanitizer.maximumMessageLength))"
        // Every key the inner handler would render, cleaned; the event's values win over the handler's there.
        var merged = inner.metadata
        if let provided = (inner.metadataProvider ?? provider)?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        event.metadata = merged.isEmpty ? nil : merged.mapValues(sanitizer.clean)
        inner.log(event: event)
    }
}
