@testable import PushinatorHTTP
import Testing

@Suite("Rate-limited warnings")
struct RateLimitedWarningTests {
    @Test func theFirstOccurrenceWarnsThenOnlyOncePerIntervalWithTheCount() {
        let warning = RateLimitedWarning(interval: .seconds(60))
        let start = ContinuousClock.now
        #expect(warning.due(now: start) == 1)
        #expect(warning.due(now: start + .seconds(1)) == nil)
        #expect(warning.due(now: start + .seconds(59)) == nil)
        #expect(warning.due(now: start + .seconds(60)) == 3)  // two suppressed, and this one
        #expect(warning.due(now: start + .seconds(61)) == nil)
    }
}
