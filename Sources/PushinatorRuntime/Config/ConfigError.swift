/// An error in a configuration file or in an environment override, rendered the way compilers render theirs.
///
/// ```
/// pushinator.conf:12:5: expected ',' or '}' but found ';'
/// /etc/pushinator.conf: admin.port must be a number between 1 and 65535, found string "abc"
/// environment variable PUSHINATOR_ADMIN_PORT: admin.port must be a number between 1 and 65535, found "abc"
/// ```
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the problem is: a file path as given to the reader, or `environment variable NAME`.
    public var source: String
    /// The 1-based line of the problem, when it is a syntax error.
    public var line: Int?
    /// The 1-based column (in Unicode scalars) of the problem, when it is a syntax error.
    public var column: Int?
    /// What is wrong, without the location prefix.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - source: A file path, or `environment variable NAME`.
    ///   - line: The 1-based line, for syntax errors.
    ///   - column: The 1-based column, for syntax errors.
    ///   - message: What is wrong.
    public init(source: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.source = source
        self.line = line
        self.column = column
        self.message = message
    }

    /// `source:line:column: message`, or `source: message` when there is no position.
    public var description: String {
        if let line, let column { return "\(source):\(line):\(column): \(message)" }
        if let line { return "\(source):\(line): \(message)" }
        return "\(source): \(message)"
    }
}
