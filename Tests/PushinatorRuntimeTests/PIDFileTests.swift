import Foundation
import PushinatorRuntime
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct PIDFileTests {
    /// A pid that belonged to a process that has exited and been reaped.
    static func deadPID() throws -> pid_t {
        let child = try ChildProcess.spawn(["/bin/true"])
        #expect(child.waitForExit() != nil)
        return child.pid
    }

    @Test func createWritesThisProcessAndReadsBack() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let pidFile = PIDFile(path: directory.file("app.pid"))
        #expect(pidFile.state() == .absent)
        #expect(try pidFile.read() == nil)
        try pidFile.create()
        #expect(try String(contentsOfFile: pidFile.path, encoding: .utf8) == "\(getpid())\n")
        #expect(try pidFile.read() == getpid())
        #expect(pidFile.state() == .running(pid: getpid()))
        try pidFile.create()  // already ours: fine
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["app.pid"])
    }

    @Test func createRefusesWhenAnotherLiveProcessHoldsIt() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let holder = try ChildProcess.sleep()
        defer { holder.stop() }
        let pidFile = PIDFile(path: directory.file("app.pid"))
        try pidFile.create(pid: holder.pid)
        #expect(throws: PIDFileError("\(pidFile.path) names running process \(holder.pid)", runningPID: holder.pid)) {
            try pidFile.create()
        }
        #expect(try pidFile.read() == holder.pid)
    }

    @Test func createReplacesStaleAndGarbageFiles() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let pidFile = PIDFile(path: directory.file("app.pid"))
        let dead = try Self.deadPID()
        _ = try directory.write("app.pid", "\(dead)\n")
        #expect(pidFile.state() == .stale(pid: dead))
        try pidFile.create()
        #expect(try pidFile.read() == getpid())

        _ = try directory.write("app.pid", "not a pid")
        #expect(pidFile.state() == .stale(pid: nil))
        #expect(throws: PIDFileError("pidfile \(pidFile.path) does not hold a process id")) { try pidFile.read() }
        try pidFile.create()
        #expect(try pidFile.read() == getpid())
    }

    @Test func removeOnlyRemovesItsOwnFile() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let pidFile = PIDFile(path: directory.file("app.pid"))
        try pidFile.create()
        #expect(try pidFile.remove(ifOwnedBy: getpid() + 1) == false)
        #expect(try pidFile.removeIfStale() == false)
        #expect(try pidFile.remove() == true)
        #expect(pidFile.state() == .absent)
        #expect(try pidFile.remove() == false)
    }

    @Test func removeIfStaleRemovesDeadProcessFiles() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let pidFile = PIDFile(path: directory.file("app.pid"))
        _ = try directory.write("app.pid", "\(try Self.deadPID())")
        #expect(try pidFile.removeIfStale() == true)
        #expect(pidFile.state() == .absent)
    }

    @Test func unreadablePIDFileIsReported() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        // A directory in the pidfile's place cannot be read as a file.
        let pidFile = PIDFile(path: directory.path)
        #expect(pidFile.state() == .unreadable("cannot read pidfile \(directory.path): Is a directory"))
    }

    @Test func concurrentStartsOverAStaleFileHaveOneWinner() async throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let other = try ChildProcess.sleep()
        defer { other.stop() }
        for round in 0..<20 {
            let pidFile = PIDFile(path: directory.file("race\(round).pid"))
            _ = try directory.write("race\(round).pid", "\(try Self.deadPID())")
            let winners = await withTaskGroup(of: pid_t?.self) { group in
                for contender in 0..<8 {
                    let pid = contender.isMultiple(of: 2) ? getpid() : other.pid
                    group.addTask { (try? pidFile.create(pid: pid)) == nil ? nil : pid }
                }
                var winners: Set<pid_t> = []
                for await winner in group { if let winner { winners.insert(winner) } }
                return winners
            }
            #expect(winners.count == 1)
            #expect(try winners.first == pidFile.read())
        }
    }

    @Test func liveness() throws {
        #expect(PIDFile.isProcessAlive(getpid()))
        #expect(PIDFile.isProcessAlive(1))  // init: alive even when it belongs to another user
        #expect(!PIDFile.isProcessAlive(0))
        #expect(!PIDFile.isProcessAlive(-1))
        #expect(!PIDFile.isProcessAlive(try Self.deadPID()))
        let zombie = try ChildProcess.sleep()
        defer { zombie.stop() }
        kill(zombie.pid, SIGKILL)
        // Not reaped yet: a zombie that kill(pid, 0) still finds, but that is not alive.
        #expect(eventually { !PIDFile.isProcessAlive(zombie.pid) })
        #expect(kill(zombie.pid, 0) == 0)
    }
}
