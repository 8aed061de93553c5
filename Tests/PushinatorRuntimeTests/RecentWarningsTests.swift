import Logging
import PushinatorRuntime
import Testing

@Suite("Recent warnings for the status page")
struct RecentWarningsTests {
    @Test func theRingKeepsTheNewestFirstAndCountsAll() {
        let warnings = RecentWarnings(capacity: 2)
        for index in 1...3 { warnings.record(.warning, "w\(index)", time: index) }
        #expect(warnings.entries.map(\.message) == ["w3", "w2"])
        #expect(warnings.total == 3)
    }

    @Test func longMessagesAreCut() {
        let warnings = RecentWarnings()
        warnings.record(.error, String(repeating: "x", count: 5000))
        let kept = warnings.entries[0].message
        #expect(kept.utf8.count <= RecentWarnings.maximumMessageLength)
        #expect(kept.hasSuffix("…"))
    }

    @Test func theHandlerKeepsWarningsAndAboveWithTheirMetadata() {
        let warnings = RecentWarnings()
        var logger = Logger(label: "test") { warnings.handler(label: $0) }
        logger.logLevel = .trace
        logger.info("not kept")
        logger.warning("kept", metadata: ["b": "2", "a": "1"])
        logger.critical("also kept")
        #expect(warnings.entries.map(\.message) == ["also kept", "kept a=1 b=2"])
        #expect(warnings.entries.map(\.level) == [.critical, .warning])
    }
}
