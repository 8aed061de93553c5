#if canImport(Glibc)
    public import Glibc
#elseif canImport(Darwin)
    public import Darwin
#endif

/// The init-script verbs for a program that runs as a daemon, generic over its name and pidfile.
///
/// `start` re-executes the current executable (`/proc/self/exe`) detached in a new session, with the
/// daemon arguments, standard streams on `/dev/null`, and a marker variable in its environment; it never forks
/// the (threaded) calling process. The detached child sees ``isDetachedChild`` and calls
/// ``claimPIDFile()``; the parent waits, bounded, until the pidfile names the child.
///
/// ```swift
/// let controller = DaemonController(configuration: .init(
///     programName: "pushinator",
///     pidFile: PIDFile(path: "/var/run/pushinator.pid"),
///     arguments: ["--config", "/etc/pushinator.conf"]
/// ))
/// if controller.isDetachedChild { try controller.claimPIDFile() }  // in the daemon
/// let outcome = controller.perform(.status)                        // in the CLI
/// print(outcome.message)                                           // "pushinator is running (pid 1234)"
/// exit(outcome.exitCode)                                           // 0
/// ```
///
/// Exit codes follow the LSB init-script conventions: for `status`, 0 running, 1 dead but the pidfile
/// exists, 3 not running, 4 unknown; for the other verbs, 0 success (including `start` when already running
/// and `stop` when not running), 1 failure, 4 insufficient privilege, 7 not running (`force-reload`).
public struct DaemonController: Sendable {
    /// What to control and how long to wait.
    public struct Configuration: Sendable {
        /// The program name used in messages, such as `pushinator`.
        public var programName: String
        /// The daemon's pidfile.
        public var pidFile: PIDFile
        /// The arguments the detached daemon gets, after `argv[0]` (the caller's arguments without the verb).
        public var arguments: [String]
        /// The executable `start` runs; `/proc/self/exe` re-executes the current program.
        public var executablePath: String
        /// The `argv[0]` the daemon gets.
        public var argumentZero: String
        /// The environment variable, set to `1`, that tells the detached child it is the daemon.
        public var markerVariable: String
        /// How long `start` waits for the pidfile to name the child.
        public var startTimeout: Duration
        /// How long `stop` waits after SIGTERM before it sends SIGKILL.
        public var stopTimeout: Duration
        /// How long `stop` waits after SIGKILL.
        public var killTimeout: Duration
        /// How often waits check progress.
        public var pollInterval: Duration

        /// Creates a configuration.
        /// - Parameters:
        ///   - programName: The program name used in messages.
        ///   - pidFile: The daemon's pidfile.
        ///   - arguments: The daemon's arguments after `argv[0]`; by default this process's arguments with the
        ///     first word that is a ``DaemonVerb`` removed.
        ///   - executablePath: The executable to run; `/proc/self/exe` by default.
        ///   - argumentZero: The daemon's `argv[0]`; this process's by default.
        ///   - markerVariable: The marker variable; `PROGRAM_DAEMON_CHILD` (upper snake case) by default.
        ///   - startTimeout: How long `start` waits for the pidfile.
        ///   - stopTimeout: How long `stop` waits after SIGTERM.
        ///   - killTimeout: How long `stop` waits after SIGKILL.
        ///   - pollInterval: How often waits check progress.
        public init(
            programName: String,
            pidFile: PIDFile,
            arguments: [String]? = nil,
            executablePath: String = "/proc/self/exe",
            argumentZero: String? = nil,
            markerVariable: String? = nil,
            startTimeout: Duration = .seconds(10),
            stopTimeout: Duration = .seconds(10),
            killTimeout: Duration = .seconds(5),
            pollInterval: Duration = .milliseconds(50)
        ) {
            self.programName = programName
            self.pidFile = pidFile
            self.arguments =
                arguments ?? DaemonController.argumentsWithoutVerb(Array(CommandLine.arguments.dropFirst()))
            self.executablePath = executablePath
            self.argumentZero = argumentZero ?? CommandLine.arguments.first ?? programName
            self.markerVariable =
                markerVariable ?? EnvironmentOverrides.upperSnakeCase(programName) + "_DAEMON_CHILD"
            self.startTimeout = startTimeout
            self.stopTimeout = stopTimeout
            self.killTimeout = killTimeout
            self.pollInterval = pollInterval
        }
    }

    /// The result of a verb: an exit code and a line for the user.
    public struct Outcome: Sendable, Hashable, CustomStringConvertible {
        /// The LSB exit code.
        public var exitCode: Int32
        /// A message such as `pushinator is running (pid 1234)`.
        public var message: String
        /// The daemon's process id, when one is known.
        public var pid: pid_t?

        /// Creates an outcome.
        /// - Parameters:
        ///   - exitCode: The LSB exit code.
        ///   - message: The line for the user.
        ///   - pid: The daemon's process id, if known.
        public init(exitCode: Int32, message: String, pid: pid_t? = nil) {
            self.exitCode = exitCode
            self.message = message
            self.pid = pid
        }

        /// Whether the exit code is 0.
        public var succeeded: Bool { exitCode == 0 }

        /// The message.
        public var description: String { message }
    }

    /// The configuration.
    public var configuration: Configuration

    /// Creates a controller.
    /// - Parameter configuration: What to control and how long to wait.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    private var name: String { configuration.programName }
    private var pidFile: PIDFile { configuration.pidFile }

    // MARK: Daemon side

    /// Whether this process is the detached child that `start` spawned.
    public var isDetachedChild: Bool {
        getenv(configuration.markerVariable).map { String(cString: $0) == "1" } ?? false
    }

    /// In the daemon: writes the pidfile naming this process and clears the marker variable, so that programs
    /// the daemon runs do not inherit it.
    /// - Throws: ``PIDFileError`` when another live process holds the pidfile or it cannot be written.
    public func claimPIDFile() throws(PIDFileError) {
        unsetenv(configuration.markerVariable)
        try pidFile.create()
    }

    // MARK: Verbs

    /// Carries out `verb`.
    /// - Parameter verb: The verb.
    /// - Returns: The exit code and message.
    public func perform(_ verb: DaemonVerb) -> Outcome {
        switch verb.kind {
        case .start: start()
        case .stop: stop()
        case .status: status()
        case .restart: restart()
        case .tryRestart: tryRestart()
        case .forceReload, .reload: forceReload()
        }
    }

    /// Reports whether the daemon runs.
    /// - Returns: 0 running, 1 dead but the pidfile exists, 3 not running, 4 pidfile unreadable.
    public func status() -> Outcome {
        switch pidFile.state() {
        case .running(let pid): Outcome(exitCode: 0, message: "\(name) is running (pid \(pid))", pid: pid)
        case .stale(let pid): Outcome(exitCode: 1, message: "\(name) is dead but pidfile \(pidFile) exists", pid: pid)
        case .absent: Outcome(exitCode: 3, message: "\(name) is not running")
        case .unreadable(let message): Outcome(exitCode: 4, message: "\(name) status is unknown: \(message)")
        }
    }

    /// Starts the daemon detached, unless it already runs, and waits until its pidfile names it.
    /// - Returns: 0 started or already running, 1 failed, 4 pidfile unreadable.
    public func start() -> Outcome {
        switch pidFile.state() {
        case .running(let pid):
            return Outcome(exitCode: 0, message: "\(name) is already running (pid \(pid))", pid: pid)
        case .unreadable(let message):
            return Outcome(exitCode: 4, message: "cannot start \(name): \(message)")
        case .stale:
            _ = try? pidFile.removeIfStale()
        case .absent:
            break
        }
        let child: pid_t
        do {
            child = try spawnDetached()
        } catch {
            return Outcome(exitCode: 1, message: "cannot start \(name): \(error.message)")
        }
        let deadline = ContinuousClock.now + configuration.startTimeout
        while true {
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child {
                // exit status 6 (LSB "not configured"): the daemon found its configuration unusable
                let notConfigured = status & 0x7F == 0 && (status >> 8) & 0xFF == 6
                return Outcome(
                    exitCode: notConfigured ? 6 : 1,
                    message: "\(name) failed to start (\(Self.describeExit(status))"
                        + (notConfigured ? ": a configuration problem)" : ")")
                )
            }
            if case .running(let pid) = pidFile.state(), pid == child {
                return Outcome(exitCode: 0, message: "started \(name) (pid \(pid))", pid: pid)
            }
            if ContinuousClock.now >= deadline { break }
            sleep(configuration.pollInterval)
        }
        // The child never wrote its pidfile: do not leave it behind.
        kill(child, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(child, &status, 0)
        return Outcome(
            exitCode: 1,
            message:
                "\(name) did not write pidfile \(pidFile) within \(Self.seconds(configuration.startTimeout)); stopped it"
        )
    }

    /// Stops the daemon: SIGTERM, then SIGKILL after ``Configuration/stopTimeout``; removes a stale pidfile.
    /// - Returns: 0 stopped or not running, 1 could not stop, 4 not permitted or pidfile unreadable.
    public func stop() -> Outcome {
        let pid: pid_t
        switch pidFile.state() {
        case .absent:
            return Outcome(exitCode: 0, message: "\(name) is not running")
        case .stale:
            _ = try? pidFile.removeIfStale()
            return Outcome(exitCode: 0, message: "\(name) is not running (removed stale pidfile \(pidFile))")
        case .unreadable(let message):
            return Outcome(exitCode: 4, message: "cannot stop \(name): \(message)")
        case .running(let running):
            pid = running
        }
        if kill(pid, SIGTERM) != 0 && errno == EPERM {
            return Outcome(exitCode: 4, message: "cannot stop \(name) (pid \(pid)): \(errnoDescription())", pid: pid)
        }
        var how = "stopped"
        if !waitForExit(pid, timeout: configuration.stopTimeout) {
            kill(pid, SIGKILL)
            how = "killed"
            guard waitForExit(pid, timeout: configuration.killTimeout) else {
                return Outcome(exitCode: 1, message: "\(name) (pid \(pid)) did not stop", pid: pid)
            }
        }
        _ = try? pidFile.remove(ifOwnedBy: pid)
        return Outcome(exitCode: 0, message: "\(how) \(name) (pid \(pid))", pid: pid)
    }

    /// Stops the daemon if it runs, then starts it.
    /// - Returns: The failed stop's outcome, or the start's.
    public func restart() -> Outcome {
        let stopped = stop()
        guard stopped.succeeded else { return stopped }
        return start()
    }

    /// Restarts the daemon only if it runs.
    /// - Returns: 0 with a note when it does not run; otherwise as ``restart()``.
    public func tryRestart() -> Outcome {
        guard case .running = pidFile.state() else {
            return Outcome(exitCode: 0, message: "\(name) is not running; not restarting")
        }
        return restart()
    }

    /// Sends the daemon SIGHUP.
    /// - Returns: 0 signalled, 7 not running, 4 not permitted.
    public func forceReload() -> Outcome {
        guard case .running(let pid) = pidFile.state() else {
            return Outcome(exitCode: 7, message: "\(name) is not running")
        }
        guard kill(pid, SIGHUP) == 0 else {
            return Outcome(exitCode: 4, message: "cannot reload \(name) (pid \(pid)): \(errnoDescription())", pid: pid)
        }
        return Outcome(exitCode: 0, message: "reloading \(name) (pid \(pid))", pid: pid)
    }

    // MARK: Helpers

    /// `arguments` without the first word that is a ``DaemonVerb``.
    /// - Parameter arguments: Command-line arguments after `argv[0]`.
    /// - Returns: The arguments for the daemon.
    public static func argumentsWithoutVerb(_ arguments: [String]) -> [String] {
        guard let index = arguments.firstIndex(where: { DaemonVerb($0) != nil }) else { return arguments }
        var result = arguments
        result.remove(at: index)
        return result
    }

    private func waitForExit(_ pid: pid_t, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while PIDFile.isProcessAlive(pid) {
            if ContinuousClock.now >= deadline { return false }
            sleep(configuration.pollInterval)
        }
        return true
    }

    private func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    private func spawnDetached() throws(PIDFileError) -> pid_t {
        var environment = EnvironmentOverrides.processEnvironment()
        environment[configuration.markerVariable] = "1"
        let argv = [configuration.argumentZero] + configuration.arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        let result = DetachedSpawn.spawn(path: configuration.executablePath, arguments: argv, environment: envp)
        switch result {
        case .success(let pid): return pid
        case .failure(let code): throw PIDFileError("\(configuration.executablePath): \(errnoDescription(code.code))")
        }
    }

    static func describeExit(_ status: Int32) -> String {
        let signal = status & 0x7F
        if signal == 0 { return "exit status \((status >> 8) & 0xFF)" }
        return "killed by signal \(signal)"
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds) s" }
        return "\(Double(seconds) + Double(attoseconds) / 1e18) s"
    }
}
