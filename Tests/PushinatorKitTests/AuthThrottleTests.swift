import PushinatorKit
import Testing

@Suite("AuthThrottle")
struct AuthThrottleTests {
    @Test func refusesAfterTheLimitOfFailures() {
        let throttle = AuthThrottle(limit: 3, window: .seconds(60))
        for _ in 0..<3 {
            #expect(throttle.allows("10.0.0.1"))
            throttle.recordFailure("10.0.0.1")
        }
        #expect(!throttle.allows("10.0.0.1"))
        #expect(throttle.allows("10.0.0.2"))
    }
}
