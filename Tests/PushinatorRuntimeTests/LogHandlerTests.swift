import Foundation
import Logging
import Synchronization
import Testing

@testable import PushinatorRuntime

#if canImport(Glibc)
    import Glibc
#endif

/// Collects what a ``SyslogLogHandler`` would send to syslog(3).
final class SyslogRecorder: Sendable {
    let messages = Mutex<[(priority: Int32, text: String)]>([])
    func send(_ priority: Int32, _ text: String) { messages.withLock { $0.append((priority, text)) } }
}

@Suite struct LogHandlerTests {
    @Test func syslogHandlerMapsLevelsAndRendersMetadata() {
        let recorder = SyslogRecorder()
        var handler = SyslogLogHandler(label: "test", tag: "pushinator", facility: .local0, metadataProvider: nil) {
            recorder.send($0, $1)
        }
        handler.logLevel = .trace
        handler[metadataKey: "app"] = "push"
        let logger = Logger(label: "test") { _ in handler }
        logger.trace("t")
        logger.debug("d")
        logger.info("joined %s%n", metadata: ["sio.room": "news", "sio.sid": "a b"])
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        logger.critical("c")
        let messages = recorder.messages.withLock { $0 }
        #expect(
            messages.map(\.priority)
                == [LOG_DEBUG, LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR, LOG_CRIT].map { $0 | LOG_LOCAL0 }
        )
        #expect(messages[2].text == #"joined %s%n app=push sio.room=news sio.sid="a b""#)
        #expect(messages[0].text == "t app=push")
    }

    @Test func syslogHandlerWritesThroughSyslogWithoutCrashing() {
        // syslog(3) goes to /dev/log, which a test cannot read back; the end-to-end test does.
        var handler = SyslogLogHandler(label: "test", tag: "pushinator-test", facility: .user)
        handler.logLevel = .debug
        Logger(label: "test") { _ in handler }.info("hello from the runtime tests %s", metadata: ["k": "v"])
    }

    @Test(arguments: [
        ("LOG_LOCAL0", LOG_LOCAL0), ("local7", LOG_LOCAL7), ("Log_Daemon", LOG_DAEMON), ("user", LOG_USER),
        (" LOG_AUTHPRIV ", LOG_AUTHPRIV),
    ])
    func facilityNames(name: String, code: Int32) throws {
        #expect(try SyslogFacility(parsing: name).code == code)
    }

    @Test func unknownFacilityIsAnError() {
        #expect(SyslogFacility(name: "LOG_LOCAL8") == nil)
        #expect(
            throws: LogDestinationError(
                #"unknown syslog facility "bogus" (expected LOG_USER, LOG_DAEMON, LOG_LOCAL0 ... LOG_LOCAL7 or another LOG_ facility)"#
            )
        ) {
            try SyslogFacility(parsing: "bogus")
        }
    }

    @Test func fileHandlerAppendsWholeLinesFromManyThreads() async throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("app.log")
        let file = try LogFile(path: path)
        let logger = Logger(label: "pushinator.client") { FileLogHandler(label: $0, file: file, metadataProvider: nil) }
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for line in 0..<200 { logger.info("line", metadata: ["task": "\(task)", "n": "\(line)"]) }
                }
            }
        }
        logger.debug("dropped: below info")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1600)
        let pattern = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info pushinator\.client: line n=\d+ task=\d$/#
        #expect(lines.allSatisfy { $0.wholeMatch(of: pattern) != nil })
    }

    @Test func logFileReopensAfterRotation() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("app.log")
        let file = try LogFile(path: path)
        file.append("before")
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        try file.reopen()
        file.append("after")
        #expect(try String(contentsOfFile: path + ".1", encoding: .utf8) == "before\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "after\n")
        #expect(
            throws: LogDestinationError("cannot open log file \(directory.path)/no/such.log: No such file or directory")
        ) {
            try LogFile(path: directory.file("no/such.log"))
        }
    }

    @Test func destinationsMakeTheirHandlers() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let first = directory.file("a.log")
        let second = directory.file("b.log")
        let factory = try LogDestination.all([.file(first), .file(second)]).makeFactory(logLevel: .debug)
        let logger = Logger(label: "multi") { factory($0, nil) }
        #expect(logger.logLevel == .debug)
        logger.debug("to both")
        #expect(try String(contentsOfFile: first, encoding: .utf8).hasSuffix("debug multi: to both\n"))
        #expect(try String(contentsOfFile: second, encoding: .utf8).hasSuffix("debug multi: to both\n"))

        // every destination's handler is wrapped in the sanitizer
        func unwrapped(_ handler: any LogHandler) -> (any LogHandler)? { (handler as? SanitizingLogHandler)?.inner }
        let nowhere = try LogDestination.nowhere.makeFactory(logLevel: .info)("none", nil)
        #expect(unwrapped(nowhere) is SwiftLogNoOpLogHandler)
        let syslog = try LogDestination.syslog(tag: "pushinator-test", facility: .local0).makeFactory(logLevel: .info)(
            "s",
            nil
        )
        #expect((unwrapped(syslog) as? SyslogLogHandler)?.facility == .local0)
        let console = try LogDestination.all([.standardOutput, .syslog(tag: "pushinator-test")]).makeFactory(
            logLevel: .info
        )("c", nil)
        #expect(unwrapped(console) is MultiplexLogHandler)
        #expect(throws: LogDestinationError.self) {
            try LogDestination.file(directory.file("no/such.log")).makeFactory(logLevel: .info)
        }
    }
}
