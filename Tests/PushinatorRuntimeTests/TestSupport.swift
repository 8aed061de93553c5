import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under the system temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    static func make(_ name: String = #function) throws -> TemporaryDirectory {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        var template = Array("\(NSTemporaryDirectory())/pushinator-runtime-\(safe)-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(result != nil)
        return TemporaryDirectory(path: String(cString: result!))
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func write(_ name: String, _ contents: String) throws -> String {
        let file = file(name)
        try contents.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A child process the test spawned; ``stop()`` kills and reaps it by pid, with a bounded wait.
struct ChildProcess {
    let pid: pid_t

    /// Spawns `arguments[0]` (a full path) with the remaining arguments.
    static func spawn(_ arguments: [String]) throws -> ChildProcess {
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // Test runners may block or ignore signals; the child starts with none blocked and all defaulted.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        for signal in [SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&signals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let code = posix_spawn(&pid, arguments[0], nil, &attributes, argv, environ)
        try #require(code == 0, "posix_spawn \(arguments[0]) failed: \(code)")
        return ChildProcess(pid: pid)
    }

    static func sleep() throws -> ChildProcess { try spawn(["/bin/sleep", "30"]) }

    /// Waits at most `timeout` seconds for the child to exit, and reaps it.
    /// - Returns: The wait status, or `nil` when the child still runs.
    @discardableResult
    func waitForExit(timeout: Double = 5) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        repeat {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return status }
            if result < 0 { return -1 }  // already reaped, or not our child
            usleep(10_000)
        } while Date() < deadline
        return nil
    }

    /// Sends SIGKILL and reaps.
    func stop() {
        kill(pid, SIGKILL)
        waitForExit()
    }
}

/// Polls `condition` every 10 ms for at most `timeout` seconds.
func eventually(timeout: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if condition() { return true }
        usleep(10_000)
    } while Date() < deadline
    return condition()
}

/// A deterministic pseudo-random generator for the fuzz tests (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// node pushinator 1.5.4's sample configuration, with comments.
let samplePushinatorConfig = """
    /**
     * Pushinator configuration.
     */
    module.exports = {
        // Where the daemon writes its process id.
        pidfile: '/var/run/pushinator.pid',

        /* The admin API: keep it private. */
        admin: {
            host: '127.0.0.1',
            port: 9600
        },

        client: {
            host: 0, // all interfaces
            port: 9601,
            socketIoTransports: ['websocket', 'flashsocket', 'htmlfile', 'xhr-polling', 'jsonp-polling'],
            useSSL: false,
            sslKey: '',
            sslCert: ''
        },

        log: {
            debug: false,
            syslog: {
                enable: false,
                tag: 'pushinator',
                facility: 'LOG_LOCAL0'
            }
        }
    };

    """
