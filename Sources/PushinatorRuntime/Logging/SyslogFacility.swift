#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A syslog(3) facility, such as `LOG_DAEMON` or `LOG_LOCAL0`.
///
/// ```swift
/// let facility = try SyslogFacility(parsing: "LOG_LOCAL0")  // also "local0", "Local0"
/// ```
public struct SyslogFacility: Sendable, Hashable, CustomStringConvertible {
    /// The facility code as syslog(3) takes it (already shifted, like `LOG_LOCAL0`).
    public let code: Int32
    /// The canonical name, such as `LOG_LOCAL0`.
    public let name: String

    private init(_ code: Int32, _ name: String) {
        self.code = code
        self.name = name
    }

    /// `LOG_USER`, the default facility of syslog(3).
    public static var user: Self { .init(LOG_USER, "LOG_USER") }
    /// `LOG_DAEMON`, for system daemons.
    public static var daemon: Self { .init(LOG_DAEMON, "LOG_DAEMON") }
    /// `LOG_LOCAL0`, node pushinator's default.
    public static var local0: Self { .init(LOG_LOCAL0, "LOG_LOCAL0") }
    /// `LOG_LOCAL0` through `LOG_LOCAL7`.
    /// - Parameter number: 0 through 7.
    /// - Returns: The facility, or `nil` for any other number.
    public static func local(_ number: Int) -> Self? {
        guard (0...7).contains(number) else { return nil }
        return .init(LOG_LOCAL0 + Int32(number) << 3, "LOG_LOCAL\(number)")
    }

    /// Every facility this type knows, by canonical name.
    public static var all: [Self] {
        [
            .init(LOG_KERN, "LOG_KERN"), .user, .init(LOG_MAIL, "LOG_MAIL"), .daemon, .init(LOG_AUTH, "LOG_AUTH"),
            .init(LOG_SYSLOG, "LOG_SYSLOG"), .init(LOG_LPR, "LOG_LPR"), .init(LOG_NEWS, "LOG_NEWS"),
            .init(LOG_UUCP, "LOG_UUCP"), .init(LOG_CRON, "LOG_CRON"), .init(LOG_AUTHPRIV, "LOG_AUTHPRIV"),
            .init(LOG_FTP, "LOG_FTP"),
        ] + (0...7).compactMap { local($0) }
    }

    /// The facility named `name`: `LOG_DAEMON`, `LOG_USER`, `LOG_LOCAL0`... with or without the `LOG_` prefix,
    /// in any case.
    /// - Parameter name: The facility name.
    /// - Returns: The facility, or `nil` for an unknown name.
    public init?(name: String) {
        var upper = ConfigDocument.trimmed(name).uppercased()
        if !upper.hasPrefix("LOG_") { upper = "LOG_" + upper }
        guard let match = Self.all.first(where: { $0.name == upper }) else { return nil }
        self = match
    }

    /// The facility named `name`, or an error listing the valid names.
    /// - Parameter name: The facility name, as for ``init(name:)``.
    /// - Throws: ``LogDestinationError`` for an unknown name.
    public init(parsing name: String) throws(LogDestinationError) {
        guard let facility = Self(name: name) else {
            throw LogDestinationError(
                "unknown syslog facility \(ConfigDocument.quote(name)) (expected \(Self.expected))"
            )
        }
        self = facility
    }

    /// The valid names, for messages.
    static var expected: String { "LOG_USER, LOG_DAEMON, LOG_LOCAL0 ... LOG_LOCAL7 or another LOG_ facility" }

    /// The canonical name.
    public var description: String { name }
}

extension ConfigDocument {
    /// A syslog facility name, such as `log.syslog.facility: 'LOG_LOCAL0'`.
    /// - Parameters:
    ///   - keyPath: A dotted key path.
    ///   - defaultValue: The value when the key is missing or `null`.
    /// - Returns: The facility.
    /// - Throws: ``ConfigError`` naming the key (or variable) for an unknown name.
    public func syslogFacility(_ keyPath: String, default defaultValue: SyslogFacility) throws(ConfigError)
        -> SyslogFacility
    {
        try parsed(
            keyPath,
            default: defaultValue,
            expected: "a syslog facility (\(SyslogFacility.expected))",
            parse: { SyslogFacility(name: $0) }
        )
    }
}
