@testable import PushinatorPostgres
import Testing

/// The bus lag: from a publish to its echo, whichever of the echo and the publish's answer comes first.
@Suite("Bus lag")
struct BusLagMeterTests {
    let start = ContinuousClock.now

    @Test func anEchoAfterThePublishAnsweredMeasuresTheLag() {
        var meter = BusLagMeter()
        #expect(meter.lag(now: start) == nil)
        meter.published([1, 2], startedAt: start)
        meter.echoed(1, at: start + .milliseconds(3))
        #expect(meter.last == .milliseconds(3))
        // message 2 has not come back: its age is the lag once it is larger
        #expect(meter.lag(now: start + .milliseconds(2)) == .milliseconds(3))
        #expect(meter.lag(now: start + .milliseconds(50)) == .milliseconds(50))
        meter.echoed(2, at: start + .milliseconds(60))
        #expect(meter.lag(now: start + .seconds(1)) == .milliseconds(60))
    }

    @Test func anEchoBeforeThePublishAnsweredCountsToo() {
        var meter = BusLagMeter()
        meter.echoed(7, at: start + .milliseconds(4))
        #expect(meter.lag(now: start + .milliseconds(5)) == nil)
        meter.published([7], startedAt: start)
        #expect(meter.lag(now: start + .seconds(1)) == .milliseconds(4))
    }

    @Test func aMessageThatNeverComesBackIsForgottenAndTheTablesAreBounded() {
        var meter = BusLagMeter(forgetAfter: .seconds(10))
        meter.published([1], startedAt: start)
        #expect(meter.lag(now: start + .seconds(9)) == .seconds(9))
        #expect(meter.lag(now: start + .seconds(11)) == nil)
        meter.published(Int64(10)..<Int64(10 + BusLagMeter.maxPending + 5), startedAt: start + .seconds(20))
        meter.echoed(Int64(10 + BusLagMeter.maxPending + 1), at: start + .seconds(21))  // not remembered: early
        meter.echoed(10, at: start + .seconds(21))
        #expect(meter.last == .seconds(1))
        for id in 0..<Int64(BusLagMeter.maxPending) { meter.echoed(1_000_000 + id, at: start) }  // unknown ids
        _ = meter.lag(now: start + .seconds(22))  // clears the early echoes past half the bound
        meter.published([1_000_000], startedAt: start + .seconds(22))
        #expect(meter.last == .seconds(1))
    }
}
