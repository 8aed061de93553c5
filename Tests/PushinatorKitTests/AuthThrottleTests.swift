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
        #expect(throttle.trackedCount <= 3)
        #expect(throttle.allows("10.0.0.1", user: "0"))  // an early pair that was not locked out was dropped
    }

    @Test func theLockoutEndsWithTheWindow() {
        let throttle = AuthThrottle(limit: 2, window: .seconds(60))
        let start = ContinuousClock.now
        throttle.recordFailure("a", user: "u", now: start)
        throttle.recordFailure("a", user: "u", now: start + .seconds(1))
        #expect(!throttle.allows("a", user: "u", now: start + .seconds(59)))
        #expect(throttle.allows("a", user: "u", now: start + .seconds(60)))
        #expect(throttle.trackedCount == 0)  // the expired entry is gone
    }

    @Test func aFloodOfDistinctKeysStaysWithinCapacityAndKeepsLockouts() {
        let throttle = AuthThrottle(limit: 2, window: .seconds(60), maxTracked: 100)
        let now = ContinuousClock.now
        throttle.recordFailure("a", user: "victim", now: now)
        throttle.recordFailure("a", user: "victim", now: now)
        for guess in 0..<10_000 {
            throttle.recordFailure("a", user: "guess-\(guess)", now: now + .milliseconds(guess))
            #expect(throttle.trackedCount <= 100)
        }
        #expect(!throttle.allows("a", user: "victim", now: now + .seconds(30)))  // a lockout is kept over guesses
    }
}
