import PushinatorKit
import Testing

@Suite("AuthThrottle")
struct AuthThrottleTests {
    @Test func refusesAfterTheLimitOfFailures() {
        let throttle = AuthThrottle(limit: 3, window: .seconds(60))
        for _ in 0..<3 {
            #expect(throttle.allows("10.0.0.1", user: "5"))
            throttle.recordFailure("10.0.0.1", user: "5")
        }
        #expect(!throttle.allows("10.0.0.1", user: "5"))
        #expect(throttle.allows("10.0.0.2", user: "5"))
    }

    @Test func oneUsersFailuresDoNotLockOutOthersBehindTheSameAddress() {
        let throttle = AuthThrottle(limit: 2, window: .seconds(60))
        throttle.recordFailure("10.0.0.1", user: "5")
        throttle.recordFailure("10.0.0.1", user: "5")
        #expect(!throttle.allows("10.0.0.1", user: "5"))
        #expect(throttle.allows("10.0.0.1", user: "6"))
    }

    @Test func theTableIsBounded() {
        let throttle = AuthThrottle(limit: 2, window: .seconds(60), maxTracked: 3)
        for user in 0..<10 { throttle.recordFailure("10.0.0.1", user: "\(user)") }
        #expect(throttle.trackedCount == 3)
        #expect(throttle.allows("10.0.0.1", user: "0"))  // the oldest pair was dropped
    }
}
