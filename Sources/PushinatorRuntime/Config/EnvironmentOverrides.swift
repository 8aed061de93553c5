#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Environment variables that override configuration keys, such as `PUSHINATOR_ADMIN_PORT` for `admin.port`.
///
/// The variable for a key path is the prefix, then each path segment in upper snake case, joined by `_`.
/// A segment is split into words where a lowercase letter or digit meets an uppercase letter, and before the
/// last capital of an acronym that a lowercase letter follows; any character other than a letter or digit
/// becomes `_`:
///
/// | key path | variable (prefix `PUSHINATOR`) |
/// | --- | --- |
/// | `admin.port` | `PUSHINATOR_ADMIN_PORT` |
/// | `log.syslog.enable` | `PUSHINATOR_LOG_SYSLOG_ENABLE` |
/// | `client.socketIoTransports` | `PUSHINATOR_CLIENT_SOCKET_IO_TRANSPORTS` |
/// | `client.useSSL` | `PUSHINATOR_CLIENT_USE_SSL` |
///
/// Values are typed by the accessor that reads them; see ``ConfigDocument``.
public struct EnvironmentOverrides: Sendable {
    /// The variable prefix without the trailing `_`, such as `PUSHINATOR`; `nil` turns overrides off.
    public var prefix: String?
    /// The environment to read.
    public var variables: [String: String]

    /// Creates overrides from a prefix and an environment.
    /// - Parameters:
    ///   - prefix: The variable prefix without the trailing `_`, such as `PUSHINATOR`.
    ///   - variables: The environment, by default this process's.
    public init(prefix: String, variables: [String: String] = EnvironmentOverrides.processEnvironment()) {
        self.prefix = prefix
        self.variables = variables
    }

    /// No overrides.
    public static var none: Self { .init(prefix: nil) }

    private init(prefix: String?) {
        self.prefix = prefix
        self.variables = [:]
    }

    /// The variable that overrides `keyPath`, or `nil` when overrides are off.
    /// - Parameter keyPath: A dotted key path such as `admin.port`.
    /// - Returns: The variable name, such as `PUSHINATOR_ADMIN_PORT`.
    public func variableName(for keyPath: String) -> String? {
        guard let prefix else { return nil }
        let segments = keyPath.split(separator: ".", omittingEmptySubsequences: false).map {
            Self.upperSnakeCase(String($0))
        }
        return ([prefix] + segments).joined(separator: "_")
    }

    /// The override for `keyPath`, with the variable's name, when the variable is set.
    /// - Parameter keyPath: A dotted key path such as `admin.port`.
    /// - Returns: The variable name and its value, or `nil`.
    public func override(for keyPath: String) -> (variable: String, value: String)? {
        guard let name = variableName(for: keyPath), let value = variables[name] else { return nil }
        return (name, value)
    }

    /// `socketIoTransports` -> `SOCKET_IO_TRANSPORTS`, `useSSL` -> `USE_SSL`, `SSLKey` -> `SSL_KEY`.
    static func upperSnakeCase(_ segment: String) -> String {
        let scalars = Array(segment.unicodeScalars)
        var result = ""
        for (offset, scalar) in scalars.enumerated() {
            let isUpper = ("A"..."Z").contains(scalar)
            if isUpper && offset > 0 {
                let previous = scalars[offset - 1]
                let previousIsLowerOrDigit = ("a"..."z").contains(previous) || ("0"..."9").contains(previous)
                let previousIsUpper = ("A"..."Z").contains(previous)
                let nextIsLower = offset + 1 < scalars.count && ("a"..."z").contains(scalars[offset + 1])
                if previousIsLowerOrDigit || (previousIsUpper && nextIsLower) { result += "_" }
            }
            if ("a"..."z").contains(scalar) || isUpper || ("0"..."9").contains(scalar) {
                result += String(scalar).uppercased()
            } else {
                result += "_"
            }
        }
        return result
    }

    /// This process's environment, read from `environ`.
    /// - Returns: Each `NAME=value` entry; for a repeated name the first wins, as `getenv(3)` does.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        #if canImport(Darwin)
            guard let pointer = _NSGetEnviron(), var entry = pointer.pointee else { return result }
        #else
            guard var entry = Optional(environ) else { return result }
        #endif
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                let name = String(text[..<equals])
                if result[name] == nil { result[name] = String(text[text.index(after: equals)...]) }
            }
            entry += 1
        }
        return result
    }
}
