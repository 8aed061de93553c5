import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// How many event-loop threads a server should run.
///
/// ```swift
/// let group = MultiThreadedEventLoopGroup(numberOfThreads: EventLoopThreads.available)
/// ```
public enum EventLoopThreads {
    /// The processors this process may use: ``NIOCore/System/coreCount`` (which follows cgroup quotas and cpusets)
    /// further limited by the process's CPU affinity (`taskset`, systemd's `CPUAffinity=`, `numactl`).
    ///
    /// NIO's own count ignores the affinity mask: a server pinned to one core with `taskset -c 0` would otherwise
    /// run one event loop per core of the machine on that one core, and pay a thread switch whenever work moves
    /// between its loops.
    public static var available: Int {
        let cores = System.coreCount
        guard let allowed = allowedProcessors(status: Self.readProcessStatus()), allowed > 0 else { return cores }
        return min(cores, allowed)
    }

    /// The number of processors in the `Cpus_allowed:` mask of a `/proc/<pid>/status` text (comma-separated
    /// 32-bit hexadecimal words), or `nil` when there is none.
    static func allowedProcessors(status: String?) -> Int? {
        guard let status else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed:") {
            var count = 0
            for character in line.dropFirst("Cpus_allowed:".count) where !",\t ".contains(character) {
                guard let digit = character.hexDigitValue else { return nil }
                count += digit.nonzeroBitCount
            }
            return count
        }
        return nil
    }

    /// The `Cpus_allowed:` line of `/proc/self/status` (Linux), or `nil`.
    private static func readProcessStatus() -> String? {
        #if os(Linux)
            guard let file = fopen("/proc/self/status", "r") else { return nil }
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 4096)  // 8,192 processors fit in 2,300 characters
            while fgets(&line, Int32(line.count), file) != nil {
                let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if text.hasPrefix("Cpus_allowed:") { return text }
            }
            return nil
        #else
            return nil
        #endif
    }
}
