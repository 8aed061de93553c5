#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a program in a new session with default signal handling and standard streams on `/dev/null`,
/// using `posix_spawn(3)` so that a multi-threaded caller is never forked.
enum DetachedSpawn {
    /// Spawns `path`.
    /// - Returns: The child's pid, or the `errno` of the failure.
    static func spawn(path: String, arguments: [String], environment: [String]) -> Result<pid_t, SpawnErrno> {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in 1..<32 where signal != SIGKILL && signal != SIGSTOP {
            sigaddset(&defaultSignals, Int32(signal))
        }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        #if os(Linux)
            let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc 2.26+)
        #else
            let setsid: Int32 = 0x400  // POSIX_SPAWN_SETSID (macOS 10.15+)
        #endif
        posix_spawnattr_setflags(
            &attributes,
            Int16(truncatingIfNeeded: Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF) | setsid)
        )

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard code == 0 else { return .failure(SpawnErrno(code: code)) }
        return .success(pid)
    }

    /// An `errno` value as an `Error`.
    struct SpawnErrno: Error {
        var code: Int32
    }
}
