public import PushinatorJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a configuration file into a ``JSONValue``.
///
/// Two formats are accepted, told apart by their first token:
/// - plain JSON;
/// - node pushinator's JavaScript module, `module.exports = { ... };`, where the object literal may have
///   `//` and `/* */` comments, single- or double-quoted strings with JavaScript escapes, unquoted identifier
///   keys, trailing commas, numbers with a sign, fraction or exponent (and `0x` hex integers), and
///   `true`, `false`, `null` (`undefined` reads as `null`).
///
/// The assignment may also be written `exports.config = {...}`, `module.exports.config = {...}`, or
/// `var config = {...}; module.exports = config;` (also with `let` or `const`). Nothing else is evaluated.
///
/// Syntax errors are ``ConfigError``s with the path, line and column:
/// `pushinator.conf:12:5: expected ',' or '}' but found ';'`. The reader never traps, whatever its input.
///
/// ```swift
/// let config = try ConfigFileReader().read(contentsOf: "/etc/pushinator.conf")
/// ```
public struct ConfigFileReader: Sendable {
    /// How deeply arrays and objects may nest before the reader gives up.
    public var maximumDepth: Int
    /// The largest file, in bytes, that ``read(contentsOf:)`` accepts.
    public var maximumFileSize: Int

    /// Creates a reader.
    /// - Parameters:
    ///   - maximumDepth: How deeply arrays and objects may nest.
    ///   - maximumFileSize: The largest file, in bytes, that ``read(contentsOf:)`` accepts.
    public init(maximumDepth: Int = 64, maximumFileSize: Int = 16 << 20) {
        self.maximumDepth = maximumDepth
        self.maximumFileSize = maximumFileSize
    }

    /// Reads and parses the file at `path`.
    /// - Parameter path: The file to read; errors name it as given.
    /// - Returns: The value the file assigns or contains.
    /// - Throws: ``ConfigError`` when the file cannot be read or does not parse.
    public func read(contentsOf path: String) throws(ConfigError) -> JSONValue {
        let bytes = try FileBytes.read(path: path, limit: maximumFileSize)
        return try parse(bytes, source: path)
    }

    /// Parses configuration text.
    /// - Parameters:
    ///   - text: The configuration text.
    ///   - source: The name errors carry, usually the file path.
    /// - Returns: The value the text assigns or contains.
    /// - Throws: ``ConfigError`` when the text does not parse.
    public func parse(_ text: String, source: String) throws(ConfigError) -> JSONValue {
        try parse(Array(text.utf8), source: source)
    }

    /// Parses configuration bytes, which must be UTF-8.
    /// - Parameters:
    ///   - bytes: The configuration text as UTF-8.
    ///   - source: The name errors carry, usually the file path.
    /// - Returns: The value the text assigns or contains.
    /// - Throws: ``ConfigError`` when the bytes do not parse.
    public func parse(_ bytes: [UInt8], source: String) throws(ConfigError) -> JSONValue {
        var parser = ConfigLiteralParser(bytes: bytes, source: source, maximumDepth: maximumDepth)
        return try parser.parseDocument()
    }
}

/// Reads a whole file with POSIX calls, so that errors carry `strerror` text.
enum FileBytes {
    static func read(path: String, limit: Int) throws(ConfigError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigError(source: path, message: "cannot open: \(errnoDescription())") }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigError(source: path, message: "cannot read: \(errnoDescription())")
            }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
            if result.count > limit {
                throw ConfigError(source: path, message: "file is larger than \(limit) bytes")
            }
        }
        return result
    }
}

/// `read(2)`, named apart from the enclosing `read` methods.
@inline(__always)
func Glibc_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.read(fd, buffer, count)
    #else
        Darwin.read(fd, buffer, count)
    #endif
}

/// The text of the current `errno`.
func errnoDescription(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
