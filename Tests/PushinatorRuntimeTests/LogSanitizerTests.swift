import Foundation
import Logging
import Testing

@testable import PushinatorRuntime

@Suite struct LogSanitizerTests {
    @Test func controlCharactersAreEscaped() {
        let clean = LogSanitizer.standard.clean("a\nb\rc\td\u{1B}[31m\u{7F}\u{85}\u{2028}\u{202E}é", limit: 100)
        #expect(clean == #"a\nb\rc\td\x1B[31m\x7F\x85\u{2028}\u{202E}é"#)
        #expect(LogSanitizer.standard.clean("plain text", limit: 100) == "plain text")
    }

    @Test func longTextIsTruncatedWithACount() {
        #expect(LogSanitizer.standard.clean(String(repeating: "x", count: 10), limit: 4) == "xxxx…(6 more)")
        #expect(LogSanitizer.standard.clean("xxxx", limit: 4) == "xxxx")
    }

    @Test func aForgedLineInAUserIDStaysOnOneLineOfTheFile() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = directory.file("app.log")
        let factory = try LogDestination.file(path).makeFactory(logLevel: .info)
        let logger = Logger(label: "pushinator", factory: { factory($0, nil) })
        let forged = "x\n2026-01-01T00:00:00+0000 info pushinator: auth accepted push.user=admin"
        logger.info("auth refused", metadata: ["push.user": "\(forged)", "big": "\(String(repeating: "y", count: 900_000))"])
        logger.info("second \u{1B}[2J")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains(#"push.user="x\\n2026"#) || lines[0].contains(#"x\n2026"#))
        #expect(lines[0].utf8.count < 2000)
        #expect(lines[0].contains("…(899488 more)"))
        #expect(lines[1].hasSuffix(#"second \x1B[2J"#))
    }
}
