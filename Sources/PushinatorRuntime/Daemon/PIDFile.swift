#if canImport(Glibc)
    public import Glibc
#elseif canImport(Darwin)
    public import Darwin
#endif

/// A file holding the process id of a running daemon, created so that of two starts only one can win.
///
/// ``create(pid:)`` writes the id to a temporary file and hard-links it into place, so the pidfile appears
/// complete or not at all, and the link fails if a pidfile exists. A pidfile naming a dead process is *stale*
/// and is replaced; stale files are removed under an exclusive `flock(2)` after checking that the path still
/// names the same file, so two starters racing over one stale file cannot both win.
///
/// ```swift
/// let pidFile = PIDFile(path: "/var/run/pushinator.pid")
/// try pidFile.create()            // throws if another live process holds it
/// defer { try? pidFile.remove() } // only removes a file that still names this process
/// ```
public struct PIDFile: Sendable, Hashable, CustomStringConvertible {
    /// The path of the pidfile.
    public var path: String

    /// Creates a handle for the pidfile at `path`; nothing is touched on disk.
    /// - Parameter path: The pidfile path, such as `/var/run/pushinator.pid`.
    public init(path: String) {
        self.path = path
    }

    /// The path.
    public var description: String { path }

    /// What the pidfile says about its process.
    public enum State: Sendable, Hashable {
        /// There is no pidfile.
        case absent
        /// The pidfile names a live process.
        case running(pid: pid_t)
        /// The pidfile names a dead process (`pid`), or holds no valid process id (`nil`).
        case stale(pid: pid_t?)
        /// The pidfile exists but cannot be read; the message says why.
        case unreadable(String)
    }

    // MARK: Reading

    /// Reads the process id.
    /// - Returns: The id, or `nil` when there is no pidfile.
    /// - Throws: ``PIDFileError`` when the file cannot be read or holds no valid process id.
    public func read() throws(PIDFileError) -> pid_t? {
        switch try readContents() {
        case .absent: return nil
        case .pid(let pid): return pid
        case .invalid: throw PIDFileError("pidfile \(path) does not hold a process id")
        }
    }

    /// Reads the pidfile and checks its process.
    /// - Returns: The state; never throws.
    public func state() -> State {
        do {
            switch try readContents() {
            case .absent: return .absent
            case .pid(let pid): return Self.isProcessAlive(pid) ? .running(pid: pid) : .stale(pid: pid)
            case .invalid: return .stale(pid: nil)
            }
        } catch {
            return .unreadable(error.message)
        }
    }

    private enum Contents {
        case absent
        case pid(pid_t)
        case invalid
    }

    private func readContents() throws(PIDFileError) -> Contents {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return .absent }
            throw PIDFileError("cannot read pidfile \(path): \(errnoDescription())")
        }
        defer { close(fd) }
        return try Self.readPID(fd: fd, path: path).map { .pid($0) } ?? .invalid
    }

    // MARK: Writing

    /// Creates the pidfile naming `pid`, replacing a stale one.
    /// - Parameter pid: The process id to write; this process by default.
    /// - Throws: ``PIDFileError`` with ``PIDFileError/runningPID`` set when a live process other than `pid`
    ///   holds the pidfile, or when the file cannot be written.
    public func create(pid: pid_t = getpid()) throws(PIDFileError) {
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        try writeFile(temporary, contents: "\(pid)\n")
        defer { unlink(temporary) }
        for _ in 0..<8 {
            if link(temporary, path) == 0 { return }
            let code = errno
            switch code {
            case EEXIST:
                switch state() {
                case .running(let holder):
                    if holder == pid { return }
                    throw PIDFileError("\(path) names running process \(holder)", runningPID: holder)
                case .stale(let stalePID):
                    try removeStale(expecting: stalePID)
                case .absent:
                    continue
                case .unreadable(let message):
                    throw PIDFileError(message)
                }
            case EPERM, ENOTSUP, EOPNOTSUPP, ENOSYS:
                // A file system without hard links: fall back to an exclusive create.
                return try createExclusively(pid: pid)
            default:
                throw PIDFileError("cannot create pidfile \(path): \(errnoDescription(code))")
            }
        }
        throw PIDFileError("cannot create pidfile \(path): it keeps changing")
    }

    /// Removes the pidfile if it names `pid`.
    /// - Parameter pid: The process the pidfile must name, this process by default; `nil` removes any pidfile.
    /// - Returns: Whether a file was removed.
    /// - Throws: ``PIDFileError`` when the file exists but cannot be removed.
    @discardableResult
    public func remove(ifOwnedBy pid: pid_t? = getpid()) throws(PIDFileError) -> Bool {
        try removeLocked { current in pid == nil || current == pid }
    }

    /// Removes the pidfile if it is stale (its process is dead, or it holds no valid process id).
    /// - Returns: Whether a file was removed.
    /// - Throws: ``PIDFileError`` when the file exists but cannot be removed.
    @discardableResult
    public func removeIfStale() throws(PIDFileError) -> Bool {
        try removeLocked { current in current.map { !Self.isProcessAlive($0) } ?? true }
    }

    /// Whether a process with this id exists and is not a zombie.
    /// - Parameter pid: A process id; ids below 1 are never alive.
    /// - Returns: `true` when `kill(pid, 0)` finds the process (also when it belongs to another user).
    public static func isProcessAlive(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        #if os(Linux)
            // A zombie still answers kill(2); /proc tells it apart (state 'Z' after the command name).
            let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return true }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = buffer.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress, $0.count) }
            guard count > 0, let close = buffer[0..<count].lastIndex(of: UInt8(ascii: ")")), close + 2 < count else {
                return true
            }
            return buffer[close + 2] != UInt8(ascii: "Z")
        #else
            return true
        #endif
    }

    // MARK: Implementation

    private func removeStale(expecting stalePID: pid_t?) throws(PIDFileError) {
        _ = try removeLocked { current in current == stalePID && !(current.map(Self.isProcessAlive) ?? false) }
    }

    /// Locks the pidfile, checks the path still names the locked file, and unlinks it if `shouldRemove` agrees.
    private func removeLocked(_ shouldRemove: (pid_t?) -> Bool) throws(PIDFileError) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return false }
            throw PIDFileError("cannot open pidfile \(path): \(errnoDescription())")
        }
        defer { close(fd) }
        try lock(fd)
        var opened = stat()
        var current = stat()
        guard fstat(fd, &opened) == 0, stat(path, &current) == 0,
            opened.st_dev == current.st_dev, opened.st_ino == current.st_ino
        else { return false }  // replaced or removed meanwhile
        let pid = try? Self.readPID(fd: fd, path: path)
        guard shouldRemove(pid ?? nil) else { return false }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw PIDFileError("cannot remove pidfile \(path): \(errnoDescription())")
        }
        return true
    }

    /// Takes an exclusive lock, retrying for at most two seconds (holders keep it for microseconds).
    private func lock(_ fd: Int32) throws(PIDFileError) {
        for _ in 0..<200 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return }
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw PIDFileError("cannot lock pidfile \(path): \(errnoDescription())")
            }
            usleep(10_000)
        }
        throw PIDFileError("cannot lock pidfile \(path): another process holds the lock")
    }

    private func createExclusively(pid: pid_t) throws(PIDFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            if errno == EEXIST, let holder = try? read(), Self.isProcessAlive(holder) {
                throw PIDFileError("\(path) names running process \(holder)", runningPID: holder)
            }
            throw PIDFileError("cannot create pidfile \(path): \(errnoDescription())")
        }
        defer { close(fd) }
        try writeAll(fd, "\(pid)\n", path: path)
    }

    private func writeFile(_ file: String, contents: String) throws(PIDFileError) {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PIDFileError("cannot create pidfile \(path): \(errnoDescription())") }
        defer { close(fd) }
        try writeAll(fd, contents, path: file)
    }

    private func writeAll(_ fd: Int32, _ contents: String, path file: String) throws(PIDFileError) {
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw PIDFileError("cannot write pidfile \(file): \(errnoDescription())")
            }
            written += count
        }
    }

    /// Reads a decimal process id (surrounding whitespace allowed); `nil` when the contents are not one.
    private static func readPID(fd: Int32, path: String) throws(PIDFileError) -> pid_t? {
        var buffer = [UInt8](repeating: 0, count: 64)
        var count = 0
        while count < buffer.count {
            let got = buffer[count...].withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw PIDFileError("cannot read pidfile \(path): \(errnoDescription())")
            }
            if got == 0 { break }
            count += got
        }
        guard count < buffer.count else { return nil }
        let text = ConfigDocument.trimmed(String(decoding: buffer[0..<count], as: UTF8.self))
        guard let pid = pid_t(text), pid > 0 else { return nil }
        return pid
    }
}
