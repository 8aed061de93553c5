import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file that log lines are appended to, shared by every ``FileLogHandler`` that writes to it.
///
/// Each line is written with one `write(2)` under a lock, to a descriptor opened with `O_APPEND`, so lines from
/// threads and from processes sharing the file never interleave. ``reopen()`` supports log rotation (call it
/// on SIGHUP).
public final class LogFile: Sendable {
    /// The path of the file.
    public let path: String
    private let descriptor: Mutex<Int32>

    /// Opens (creating with mode 0644 if needed) the file at `path` for appending.
    /// - Parameter path: The log file.
    /// - Throws: ``LogDestinationError`` when the file cannot be opened.
    public init(path: String) throws(LogDestinationError) {
        self.path = path
        self.descriptor = Mutex(try Self.open(path))
    }

    deinit {
        descriptor.withLock { fd in
            if fd >= 0 { close(fd) }
        }
    }

    /// Closes and reopens the file, so that a rotated file is left behind and a new one started.
    /// - Throws: ``LogDestinationError`` when the file cannot be reopened; the old descriptor stays in use.
    public func reopen() throws(LogDestinationError) {
        let fresh = try Self.open(path)
        descriptor.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = fresh
        }
    }

    /// Appends `line` and a newline. Errors are ignored: logging must not fail the program.
    /// - Parameter line: The line, without its newline.
    public func append(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        descriptor.withLock { fd in
            var written = 0
            while written < bytes.count {
                let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                written += count
            }
        }
    }

    private static func open(_ path: String) throws(LogDestinationError) -> Int32 {
        #if canImport(Glibc)
            let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        #else
            let fd = Darwin.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        #endif
        guard fd >= 0 else { throw LogDestinationError("cannot open log file \(path): \(errnoDescription())") }
        return fd
    }
}
