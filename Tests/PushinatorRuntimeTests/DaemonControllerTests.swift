import Foundation
import PushinatorRuntime
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct DaemonControllerTests {
    /// A controller whose `start` runs `/bin/sh -c script` instead of re-executing the test binary.
    static func make(
        pidFile: String,
        script: String = "exit 1",
        startTimeout: Duration = .seconds(5),
        stopTimeout: Duration = .seconds(5)
    ) -> DaemonController {
        DaemonController(
            configuration: .init(
                programName: "pushinator",
                pidFile: PIDFile(path: pidFile),
                arguments: ["-c", script],
                executablePath: "/bin/sh",
                argumentZero: "sh",
                startTimeout: startTimeout,
                stopTimeout: stopTimeout,
                killTimeout: .seconds(5),
                pollInterval: .milliseconds(20)
            )
        )
    }

    /// A daemon script: checks the marker, writes its pid, and becomes `sleep 30`.
    static func daemonScript(pidFile: String) -> String {
        #"[ "$PUSHINATOR_DAEMON_CHILD" = 1 ] || exit 9; echo $$ > "# + pidFile + #".tmp && mv "# + pidFile
            + #".tmp "# + pidFile + "; exec /bin/sleep 30"
    }

    @Test func statusReportsLSBCodes() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("pushinator.pid")
        let controller = Self.make(pidFile: path)

        #expect(controller.status() == .init(exitCode: 3, message: "pushinator is not running"))

        let child = try ChildProcess.sleep()
        defer { child.stop() }
        _ = try directory.write("pushinator.pid", "\(child.pid)\n")
        #expect(
            controller.perform(.status)
                == .init(exitCode: 0, message: "pushinator is running (pid \(child.pid))", pid: child.pid)
        )

        kill(child.pid, SIGKILL)
        #expect(child.waitForExit() != nil)
        #expect(
            controller.status()
                == .init(exitCode: 1, message: "pushinator is dead but pidfile \(path) exists", pid: child.pid)
        )
    }

    @Test func stopTerminatesTheDaemonAndRemovesItsPidfile() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("pushinator.pid")
        let child = try ChildProcess.sleep()
        defer { child.stop() }
        _ = try directory.write("pushinator.pid", "\(child.pid)")
        let outcome = Self.make(pidFile: path).stop()
        #expect(outcome == .init(exitCode: 0, message: "stopped pushinator (pid \(child.pid))", pid: child.pid))
        let status = try #require(child.waitForExit())
        #expect(status & 0x7F == SIGTERM)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func stopKillsADaemonThatIgnoresSIGTERM() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("pushinator.pid")
        // SIG_IGN survives exec, so this sleep ignores SIGTERM.
        let child = try ChildProcess.spawn(["/bin/sh", "-c", "trap '' TERM; exec /bin/sleep 30"])
        defer { child.stop() }
        _ = try directory.write("pushinator.pid", "\(child.pid)")
        #expect(eventually { (try? String(contentsOfFile: "/proc/\(child.pid)/comm", encoding: .utf8)) == "sleep\n" })
        let outcome = Self.make(pidFile: path, stopTimeout: .milliseconds(300)).stop()
        #expect(outcome == .init(exitCode: 0, message: "killed pushinator (pid \(child.pid))", pid: child.pid))
        let status = try #require(child.waitForExit())
        #expect(status & 0x7F == SIGKILL)
    }

    @Test func stopWhenNotRunning() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("pushinator.pid")
        let controller = Self.make(pidFile: path)
        #expect(controller.stop() == .init(exitCode: 0, message: "pushinator is not running"))
        _ = try directory.write("pushinator.pid", "\(try PIDFileTests.deadPID())")
        #expect(
            controller.stop()
                == .init(exitCode: 0, message: "pushinator is not running (removed stale pidfile \(path))")
        )
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func forceReloadSendsSIGHUP() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("pushinator.pid")
        let controller = Self.make(pidFile: path)
        #expect(controller.perform(.forceReload) == .init(exitCode: 7, message: "pushinator is not running"))
        let child = try ChildProcess.sleep()
        defer { child.stop() }
        _ = try directory.write("pushinator.pid", "\(child.pid)")
        #expect(controller.perform(.reload).exitCode == 0)
        let status = try #require(child.waitForExit())
        #expect(status & 0x7F == SIGHUP)
    }

    @Test func startDetachesTheDaemonAndWaitsForItsPidfile() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("pushinator.pid")
        let controller = Self.make(pidFile: path, script: Self.daemonScript(pidFile: path))
        let outcome = controller.perform(.start)
        let pid = try #require(outcome.pid)
        let daemon = ChildProcess(pid: pid)
        defer { daemon.stop() }
        #expect(outcome == .init(exitCode: 0, message: "started pushinator (pid \(pid))", pid: pid))
        #expect(getsid(pid) == pid)  // a session of its own
        for fd in 0...2 {
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")
            #expect(target == "/dev/null")
        }
        #expect(controller.status().exitCode == 0)
        #expect(
            controller.start() == .init(exitCode: 0, message: "pushinator is already running (pid \(pid))", pid: pid)
        )
        #expect(controller.stop().exitCode == 0)
        #expect(daemon.waitForExit() != nil)
        #expect(controller.status().exitCode == 3)
    }

    @Test func startReportsADaemonThatExits() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let controller = Self.make(pidFile: directory.file("pushinator.pid"), script: "exit 3")
        #expect(controller.start() == .init(exitCode: 1, message: "pushinator failed to start (exit status 3)"))
    }

    @Test func startGivesUpOnADaemonThatNeverWritesItsPidfile() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("pushinator.pid")
        let controller = Self.make(
            pidFile: path,
            script: "echo $$ > \(path).child; exec /bin/sleep 30",
            startTimeout: .milliseconds(500)
        )
        let outcome = controller.start()
        #expect(
            outcome == .init(exitCode: 1, message: "pushinator did not write pidfile \(path) within 0.5 s; stopped it")
        )
        if let text = try? String(contentsOfFile: "\(path).child", encoding: .utf8), let pid = pid_t(text.dropLast()) {
            ChildProcess(pid: pid).stop()  // already killed and reaped by start(); harmless
            #expect(!PIDFile.isProcessAlive(pid))
        }
    }

    @Test func restartAndTryRestart() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("pushinator.pid")
        let controller = Self.make(pidFile: path, script: Self.daemonScript(pidFile: path))
        #expect(controller.tryRestart() == .init(exitCode: 0, message: "pushinator is not running; not restarting"))

        let first = controller.start()
        let firstPID = try #require(first.pid)
        defer { ChildProcess(pid: firstPID).stop() }
        let second = controller.perform(.tryRestart)
        let secondPID = try #require(second.pid)
        defer { ChildProcess(pid: secondPID).stop() }
        #expect(second.exitCode == 0 && secondPID != firstPID)
        #expect(ChildProcess(pid: firstPID).waitForExit() != nil)

        let third = controller.perform(.restart)
        let thirdPID = try #require(third.pid)
        defer { ChildProcess(pid: thirdPID).stop() }
        #expect(third.exitCode == 0 && thirdPID != secondPID)
        #expect(controller.stop().exitCode == 0)
    }

    @Test func verbsAndArguments() {
        #expect(
            DaemonVerb.all.map(\.name) == [
                "start", "stop", "status", "restart", "try-restart", "force-reload", "reload",
            ]
        )
        #expect(DaemonVerb("try-restart") == .tryRestart)
        #expect(DaemonVerb("Start") == nil)
        #expect(
            DaemonController.argumentsWithoutVerb(["--config", "/etc/p.conf", "start", "status"])
                == ["--config", "/etc/p.conf", "status"]
        )
        let controller = DaemonController(configuration: .init(programName: "pushinator", pidFile: PIDFile(path: "/x")))
        #expect(controller.configuration.markerVariable == "PUSHINATOR_DAEMON_CHILD")
        #expect(controller.configuration.executablePath == "/proc/self/exe")
        #expect(!controller.isDetachedChild)
    }

    @Test func claimPIDFileWritesThisProcess() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let controller = Self.make(pidFile: directory.file("pushinator.pid"))
        try controller.claimPIDFile()
        #expect(
            controller.status() == .init(exitCode: 0, message: "pushinator is running (pid \(getpid()))", pid: getpid())
        )
        #expect(try controller.configuration.pidFile.remove())
    }
}
