public import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's open-file limit (`RLIMIT_NOFILE`): every connection takes a descriptor, so it caps the
/// connections a server can hold.
public struct OpenFileLimit: Sendable, Hashable {
    /// The soft limit, which applies (`ulimit -n`, systemd's `LimitNOFILE=`).
    public var soft: UInt64
    /// The hard limit, up to which the process may raise the soft one.
    public var hard: UInt64

    /// Creates a limit.
    public init(soft: UInt64, hard: UInt64) {
        self.soft = soft
        self.hard = hard
    }

    /// The process's limit now, or `nil` when getrlimit(2) fails.
    public static var current: OpenFileLimit? {
        #if canImport(Glibc)
            let resource = Int32(RLIMIT_NOFILE.rawValue)
        #else
            let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        return OpenFileLimit(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }

    /// Logs a warning, saying how to raise the limit, when it allows fewer connections per listener (`cap`)
    /// than the server's own limit (`configured`); logs nothing otherwise.
    /// - Parameters:
    ///   - cap: The connections the limit leaves room for.
    ///   - configured: The server's connection limit.
    ///   - logger: Where the warning goes.
    /// - Returns: Whether it warned.
    @discardableResult
    public func warnIfCapping(connections cap: Int, configured: Int, logger: Logger) -> Bool {
        guard cap < configured else { return false }
        logger.warning(
            "the open-file limit caps the connections: raise it with LimitNOFILE=65536 in the systemd unit, or ulimit -n 65536 before starting",
            metadata: ["process.nofile.soft": "\(soft)", "process.nofile.hard": "\(hard)", "http.max_connections": "\(cap)"]
        )
        return true
    }
}
