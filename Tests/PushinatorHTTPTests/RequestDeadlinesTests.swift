import NIOCore
import Testing

@testable import PushinatorHTTP

/// The head and idle deadlines and the chunk framing bound of ``RequestTimer``, with time as a parameter.
@Suite("Request deadlines")
struct RequestDeadlinesTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func make(framing: Int = 100) -> RequestDeadlines {
        RequestDeadlines(headTimeout: .seconds(10), idleTimeout: .seconds(60), maxChunkFramingBytes: framing)
    }

    @Test func headTimeoutRunsFromTheAccept() {
        var deadlines = Self.make()
        deadlines.accepted(now: Self.start)
        #expect(deadlines.deadline == Self.start + .seconds(10))
        #expect(deadlines.read(10, now: Self.start + .seconds(5)) == .forward)
        #expect(deadlines.deadline == Self.start + .seconds(10))  // bytes of the head do not move it
        #expect(!deadlines.isExpired(at: Self.start + .seconds(9)))
        #expect(deadlines.isExpired(at: Self.start + .seconds(10)))
    }

    @Test func bodyReadsMoveTheIdleDeadlineThenTheRequestIsUntimed() {
        var deadlines = Self.make()
        deadlines.accepted(now: Self.start)
        deadlines.headReceived(chunked: false, now: Self.start + .seconds(1))
        #expect(deadlines.deadline == Self.start + .seconds(61))
        _ = deadlines.read(100, now: Self.start + .seconds(30))
        #expect(deadlines.deadline == Self.start + .seconds(90))
        deadlines.bodyReceived()
        #expect(deadlines.deadline == nil)
        #expect(!deadlines.isExpired(at: Self.start + .seconds(1000)))  // a slow handler is not cut off
    }

    @Test func nextRequestHeadIsTimedFromItsFirstByte() {
        var deadlines = Self.make()
        deadlines.accepted(now: Self.start)
        deadlines.headReceived(chunked: false, now: Self.start)
        deadlines.bodyReceived()
        deadlines.requestFinished(now: Self.start + .seconds(1))
        #expect(deadlines.deadline == Self.start + .seconds(61))  // idle between requests
        _ = deadlines.read(5, now: Self.start + .seconds(20))
        #expect(deadlines.deadline == Self.start + .seconds(30))  // the head timeout from the first byte
    }

    @Test func chunkFramingOverTheBoundIsRefusedThenDropped() {
        var deadlines = Self.make(framing: 100)
        deadlines.accepted(now: Self.start)
        deadlines.headReceived(chunked: true, now: Self.start)
        #expect(deadlines.read(150, now: Self.start) == .forward)  // counted from the next read on
        deadlines.bodyPartReceived(5)  // 150 - 45 = 105 framing bytes
        #expect(deadlines.read(10, now: Self.start) == .refuseChunkFraming)
        #expect(deadlines.read(10, now: Self.start) == .drop)
    }

    @Test func chunkFramingWithinTheBoundIsForwarded() {
        var deadlines = Self.make(framing: 100)
        deadlines.accepted(now: Self.start)
        deadlines.headReceived(chunked: true, now: Self.start)
        _ = deadlines.read(150, now: Self.start)
        deadlines.bodyPartReceived(10)  // 150 - 90 = 60
        #expect(deadlines.read(10, now: Self.start) == .forward)
        var plain = Self.make(framing: 0)
        plain.accepted(now: Self.start)
        plain.headReceived(chunked: false, now: Self.start)
        #expect(plain.read(1000, now: Self.start) == .forward)
        #expect(plain.read(1000, now: Self.start) == .forward)  // not chunked: not counted
    }
}
