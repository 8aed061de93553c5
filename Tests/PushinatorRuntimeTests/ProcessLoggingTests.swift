import Foundation
import Logging
import Testing

@testable import PushinatorRuntime

@Suite struct ProcessLoggingTests {
    @Test func handlersFollowTheLevelKeepWarningsAndWriteTheFile() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("app.log")
        let logging = try ProcessLogging(destination: .file(path), level: .info)
        let logger = Logger(label: "test") { logging.factory($0, nil) }
        logger.debug("hidden")
        logger.info("shown")
        logging.level.level = .debug  // as a reload does
        logger.debug("now shown")
        logger.warning("kept")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("hidden"))
        #expect(text.contains("shown") && text.contains("now shown") && text.contains("kept"))
        #expect(logging.warnings.entries.map(\.message) == ["kept"])
    }

    @Test func reopeningStartsANewFileUnderTheNameAfterARename() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("app.log")
        let logging = try ProcessLogging(destination: .file(path), level: .info)
        let logger = Logger(label: "test") { logging.factory($0, nil) }
        logger.info("before rotation")
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")  // as logrotate does
        logging.reopenFiles(logger: logger)
        logger.info("after rotation")
        #expect(try String(contentsOfFile: path + ".1", encoding: .utf8).contains("before rotation"))
        let fresh = try String(contentsOfFile: path, encoding: .utf8)
        #expect(fresh.contains("after rotation") && !fresh.contains("before rotation"))
    }
}
