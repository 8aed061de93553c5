public import PushinatorJSON

/// A parsed configuration file with typed accessors by dotted key path, defaults, and environment overrides.
///
/// ```swift
/// let config = try ConfigDocument.load(
///     contentsOf: "/etc/pushinator.conf",
///     environment: EnvironmentOverrides(prefix: "PUSHINATOR")
/// )
/// let port = try config.port("admin.port", default: 9600)
/// let host = try config.host("client.host", default: "0.0.0.0")
/// ```
///
/// A key that is missing, or set to `null`, takes the default. A value of the wrong type is a ``ConfigError``
/// naming the file and the key: `/etc/pushinator.conf: admin.port must be a number between 1 and 65535,
/// found string "abc"`. An environment override (see ``EnvironmentOverrides``) wins over the file; its text is
/// read as the accessor's type (integers in decimal; booleans as `true`/`false`/`1`/`0`/`yes`/`no`/`on`/`off`;
/// arrays as comma-separated items), and a bad value is a ``ConfigError`` naming the variable.
public struct ConfigDocument: Sendable {
    /// The parsed configuration.
    public var root: JSONValue
    /// The file the configuration came from, as errors name it.
    public var source: String
    /// The environment overrides in force.
    public var environment: EnvironmentOverrides
    /// The key paths read so far, shared by copies (see ``unknownKeys(ignoring:)``).
    let readKeys = ConfigKeyLog()

    /// Wraps an already-parsed configuration.
    /// - Parameters:
    ///   - root: The configuration value, normally an object.
    ///   - source: The file name errors carry.
    ///   - environment: Environment overrides; none by default.
    public init(root: JSONValue, source: String, environment: EnvironmentOverrides = .none) {
        self.root = root
        self.source = source
        self.environment = environment
    }

    /// Reads a configuration file whose top level must be an object.
    /// - Parameters:
    ///   - path: The file to read.
    ///   - reader: The reader to use.
    ///   - environment: Environment overrides; none by default.
    /// - Returns: The document.
    /// - Throws: ``ConfigError`` when the file cannot be read, does not parse, or is not an object.
    public static func load(
        contentsOf path: String,
        reader: ConfigFileReader = ConfigFileReader(),
        environment: EnvironmentOverrides = .none
    ) throws(ConfigError) -> ConfigDocument {
        let root = try reader.read(contentsOf: path)
        guard case .object = root else {
            throw ConfigError(source: path, message: "the configuration must be an object, found \(describe(root))")
        }
        return ConfigDocument(root: root, source: path, environment: environment)
    }

    // MARK: Raw access

    /// The value in the file at `keyPath`, ignoring environment overrides.
    /// - Parameter keyPath: A dotted key path such as `log.syslog`.
    /// - Returns: The value, or `nil` when a key on the path is missing.
    /// - Throws: ``ConfigError`` when a key on the path names something other than an object.
    public func value(_ keyPath: String) throws(ConfigError) -> JSONValue? {
        readKeys.note(keyPath)
        var current = root
        var walked: [Substring] = []
        for segment in keyPath.split(separator: ".", omittingEmptySubsequences: false) {
            guard case .object(let object) = current else {
                if current.isNull { return nil }
                let name = walked.isEmpty ? "the configuration" : walked.joined(separator: ".")
                throw ConfigError(source: source, message: "\(name) must be an object, found \(Self.describe(current))")
            }
            guard let next = object[String(segment)] else { return nil }
            walked.append(segment)
            current = next
        }
        return current
    }

    /// Whether the file or the environment sets `keyPath` to something other than `null`.
    /// - Parameter keyPath: A dotted key path.
    /// - Returns: `true` when a value is set.
    public func contains(_ keyPath: String) -> Bool {
        readKeys.note(keyPath)
        if environment.override(for: keyPath) != nil { return true }
        guard let value = try? value(keyPath) else { return false }
        return !value.isNull
    }

    // MARK: Typed accessors

    /// An integer, optionally within a range.
    /// - Parameters:
    ///   - keyPath: A dotted key path.
    ///   - defaultValue: The value when the key is missing or `null`.
    ///   - range: The accepted values, if limited.
    /// - Returns: The integer. Numeric strings are accepted, as node did.
    /// - Throws: ``ConfigError`` for any other value or one outside `range`.
    public func int(
        _ keyPath: String,
        default defaultValue: Int,
        in range: ClosedRange<Int>? = nil
    ) throws(ConfigError) -> Int {
        let expected = range.map { "a number between \($0.lowerBound) and \($0.upperBound)" } ?? "an integer"
        let inRange: (Int) -> Int? = { value in range.map { $0.contains(value) } ?? true ? value : nil }
        return try lookup(
            keyPath,
            default: defaultValue,
            expected: expected,
            fromFile: { value in
                switch value {
                case .string(let text): Int(Self.trimmed(text)).flatMap(inRange)
                default: value.int.flatMap(inRange)
                }
            },
            fromEnvironment: { Int(Self.trimmed($0)).flatMap(inRange) }
        )
    }

    /// A TCP port, 1 through 65535.
    /// - Parameters:
    ///   - keyPath: A dotted key path.
    ///   - defaultValue: The value when the key is missing or `null`.
    /// - Returns: The port.
    /// - Throws: ``ConfigError`` for anything but a number between 1 and 65535.
    public func port(_ keyPath: String, default defaultValue: Int) throws(ConfigError) -> Int {
        try int(keyPath, default: defaultValue, in: 1...65535)
    }

    /// A number.
    /// - Parameters:
    ///   - keyPath: A dotted key path.
    ///   - defaultValue: The value when the key is missing or `null`.
    /// - Returns: The number. Numeric strings are accepted.
    /// - Throws: ``ConfigError`` for any other value.
    public func double(_ keyPath: String, default defaultValue: Double) throws(ConfigError) -> Double {
        try lookup(
            keyPath,
            default: defaultValue,
            expected: "a number",
            fromFile: { value in
                if case .string(let text) = value { return Double(Self.trimmed(text)).flatMap(Self.finite) }
                return value.double
            },
            fromEnvironment: { Double(Self.trimmed($0)).flatMap(Self.finite) }
        )
    }

    /// A string.
    /// - Parameters:
    ///   - keyPath: A dotted key path.
    ///   - defaultValue: The value when the key is missing or `null`.
    /// - Returns: The string.
    /// - Throws: ``ConfigError`` for any other value.
    public func string(_ keyPath: String, default defaultValue: String) throws(ConfigError) -> String {
        try lookup(keyPath, default: defaultValue, expected: "a string", fromFile: \.string, fromEnvironment: { $0 })
    }

    /// A string that has no default.
    /// - Parameter keyPath: A dotted key path.
    /// - Returns: The string, or `nil` when the key is missing or `null`.
    /// - Throws: ``ConfigError`` for any other value.
    public func string(_ keyPath: String) throws(ConfigError) -> String? {
        try lookup(keyPath, default: nil, expected: "a string", fromFile: \.string, fromEnvironment: { $0 })
    }

    /// A boolean.
    /// - Parameters:
    ///   - keyPath: A dotted key path.
    ///   - defaultValue: The value when the key is missing or `null`.
    /// - Returns: The boolean. The file may also say `0`, `1`, or one of the strings the environment accepts.
    /// - Throws: ``ConfigError`` for any other value.
    public func bool(_ keyPath: String, default defaultValue: Bool) throws(ConfigError) -> Bool {
        try lookup(
            keyPath,
            default: defaultValue,
            expected: "true or false",
            fromFile: { value in
                switch value {
                case .bool(let flag): flag
                case .integer(0): false
                case .integer(1): true
                case .string(let text): Self.parseBool(text)
                default: nil
                }
            },
            fromEnvironment: Self.parseBool
        )
    }

    /// An array of strings.
    /// - Parameters:
    ///   - keyPath: A dotted key path.
    ///   - defaultValue: The value when the key is missing or `null`.
    /// - Returns: The strings. A single string in the file is read as a comma-separated list.
    /// - Throws: ``ConfigError`` for any other value, naming the first element that is not a string.
    public func stringArray(_ keyPath: String, default defaultValue: [String]) throws(ConfigError) -> [String] {
        if case .array(let elements)? = try fileValueUnlessOverridden(keyPath) {
            var strings: [String] = []
            for (position, element) in elements.enumerated() {
                guard case .string(let text) = element else {
                    throw ConfigError(
                        source: source,
                        message: "\(keyPath)[\(position)] must be a string, found \(Self.describe(element))"
                    )
                }
                strings.append(text)
            }
            return strings
        }
        return try lookup(
            keyPath,
            default: defaultValue,
            expected: "an array of strings",
            fromFile: { $0.string.map(Self.splitList) },
            fromEnvironment: Self.splitList
        )
    }

    /// A host to listen on, where node pushinator's `0` (and an empty string) mean every interface.
    /// - Parameters:
    ///   - keyPath: A dotted key path.
    ///   - defaultValue: The value when the key is missing or `null`.
    /// - Returns: The host name or address; `"0.0.0.0"` for `0` or `""`.
    /// - Throws: ``ConfigError`` for any other value.
    public func host(_ keyPath: String, default defaultValue: String) throws(ConfigError) -> String {
        let allInterfaces = "0.0.0.0"
        return try lookup(
            keyPath,
            default: defaultValue,
            expected: "a host name or address (or 0 for all interfaces)",
            fromFile: { value in
                switch value {
                case .integer(0): allInterfaces
                case .string(let text): Self.trimmed(text).isEmpty ? allInterfaces : text
                default: nil
                }
            },
            fromEnvironment: { text in
                let text = Self.trimmed(text)
                return text.isEmpty || text == "0" ? allInterfaces : text
            }
        )
    }

    /// A value read from a string by `parse`, such as a log level or a syslog facility.
    /// - Parameters:
    ///   - keyPath: A dotted key path.
    ///   - defaultValue: The value when the key is missing or `null`.
    ///   - expected: What a valid value is, for the error, such as `"a log level (debug, info...)"`.
    ///   - parse: Turns the string into a value, or `nil` when it is invalid.
    /// - Returns: The parsed value.
    /// - Throws: ``ConfigError`` when the value is not a string or `parse` rejects it.
    public func parsed<Value>(
        _ keyPath: String,
        default defaultValue: Value,
        expected: String,
        parse: (String) -> Value?
    ) throws(ConfigError) -> Value {
        try lookup(
            keyPath,
            default: defaultValue,
            expected: expected,
            fromFile: { $0.string.flatMap(parse) },
            fromEnvironment: parse
        )
    }

    // MARK: Lookup

    /// The file value at `keyPath` when no environment variable overrides it.
    private func fileValueUnlessOverridden(_ keyPath: String) throws(ConfigError) -> JSONValue? {
        environment.override(for: keyPath) == nil ? try value(keyPath) : nil
    }

    private func lookup<Value>(
        _ keyPath: String,
        default defaultValue: Value,
        expected: String,
        fromFile: (JSONValue) -> Value?,
        fromEnvironment: (String) -> Value?
    ) throws(ConfigError) -> Value {
        readKeys.note(keyPath)
        if let (variable, text) = environment.override(for: keyPath) {
            guard let value = fromEnvironment(text) else {
                throw ConfigError(
                    source: "environment variable \(variable)",
                    message: "\(keyPath) must be \(expected), found \(Self.quote(text))"
                )
            }
            return value
        }
        guard let value = try value(keyPath), !value.isNull else { return defaultValue }
        guard let typed = fromFile(value) else {
            throw ConfigError(source: source, message: "\(keyPath) must be \(expected), found \(Self.describe(value))")
        }
        return typed
    }

    // MARK: Helpers

    /// A short description of a value for error messages: `string "abc"`, `number 5`, `object`...
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "boolean \(flag)"
        case .integer(let number): "number \(number)"
        case .double(let number): "number \(number)"
        case .string(let text): "string \(quote(text))"
        case .array: "array"
        case .object: "object"
        case .binary: "binary data"
        }
    }

    /// `text` in double quotes with quotes, backslashes and control characters escaped, cut at 60 characters.
    static func quote(_ text: String) -> String {
        var result = "\""
        for (count, scalar) in text.unicodeScalars.enumerated() {
            if count == 60 {
                result += "..."
                break
            }
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    static func parseBool(_ text: String) -> Bool? {
        switch trimmed(text).lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: nil
        }
    }

    static func splitList(_ text: String) -> [String] {
        text.split(separator: ",").map { trimmed(String($0)) }.filter { !$0.isEmpty }
    }

    static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[first...last])
    }

    static func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
}
