import Foundation
@testable import PushinatorKit
import Testing

@Suite("AdminRequestMetrics")
struct AdminRequestMetricsTests {
    /// The scrape's lines, without the comments.
    func samples(_ metrics: AdminRequestMetrics) -> [String] {
        var buffer: [UInt8] = []
        metrics.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    @Test func rendersNothingBeforeTheFirstRequest() {
        var buffer: [UInt8] = []
        AdminRequestMetrics(routes: ["/user/send", "other"]).emit(into: &buffer)
        #expect(buffer.isEmpty)
    }

    @Test func countsByRouteAndStatusAndFillsTheBucketsAtTheirBounds() {
        let metrics = AdminRequestMetrics(routes: ["/user/send", "/ping", "other"])
        metrics.record(route: 0, status: 200, nanoseconds: 100_000)  // on the 100 µs bound: le="0.0001"
        metrics.record(route: 0, status: 200, nanoseconds: 100_001)  // just above: le="0.0005"
        metrics.record(route: 0, status: 400, nanoseconds: 3_000_000_000)  // above 2 s: +Inf only
        metrics.record(route: 2, status: 404, nanoseconds: 1_000)
        let lines = samples(metrics)
        #expect(lines.contains(#"pushinator_admin_requests_total{route="/user/send",status="200"} 2"#))
        #expect(lines.contains(#"pushinator_admin_requests_total{route="/user/send",status="400"} 1"#))
        #expect(lines.contains(#"pushinator_admin_requests_total{route="other",status="404"} 1"#))
        #expect(!lines.contains { $0.contains(#"route="/ping""#) })  // routes not seen are not rendered
        let histogram = "pushinator_admin_request_duration_seconds"
        #expect(lines.contains(#"\#(histogram)_bucket{route="/user/send",le="0.0001"} 1"#))
        #expect(lines.contains(#"\#(histogram)_bucket{route="/user/send",le="0.0005"} 2"#))
        #expect(lines.contains(#"\#(histogram)_bucket{route="/user/send",le="2.0"} 2"#))
        #expect(lines.contains(#"\#(histogram)_bucket{route="/user/send",le="+Inf"} 3"#))
        #expect(lines.contains(#"\#(histogram)_sum{route="/user/send"} 3.000200001"#))
        #expect(lines.contains(#"\#(histogram)_count{route="/user/send"} 3"#))
        #expect(lines.contains(#"\#(histogram)_count{route="other"} 1"#))
    }

    @Test func theBucketOfALatencyIsTheFirstBoundAtOrAboveIt() {
        let bounds = AdminRequestCounts.bounds
        for (index, bound) in bounds.enumerated() {
            #expect(AdminRequestCounts.bucket(of: bound) == index)
            #expect(AdminRequestCounts.bucket(of: bound + 1) == index + 1)
            #expect(AdminRequestCounts.bucket(of: bound - 1) == (index > 0 && bound - 1 <= bounds[index - 1] ? index - 1 : index))
        }
        #expect(AdminRequestCounts.bucket(of: 0) == 0)
        #expect(AdminRequestCounts.bucket(of: .max) == bounds.count)
    }

    @Test func countsAStatusWithoutASlotApart() {
        let metrics = AdminRequestMetrics(routes: ["/ping", "other"])
        metrics.record(route: 0, status: 299, nanoseconds: 1)
        metrics.record(route: 0, status: 299, nanoseconds: 1)
        metrics.record(route: 0, status: 200, nanoseconds: 1)
        let lines = samples(metrics)
        #expect(lines.contains(#"pushinator_admin_requests_total{route="/ping",status="200"} 1"#))
        #expect(lines.contains(#"pushinator_admin_requests_total{route="/ping",status="299"} 2"#))
        #expect(lines.contains(#"pushinator_admin_request_duration_seconds_count{route="/ping"} 3"#))
    }

    @Test func addsUpTheCountsOfEveryThread() {
        let metrics = AdminRequestMetrics(routes: ["/user/send", "other"])
        let threads = 4, each = 1_000
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<threads {
            Thread {  // each thread counts into its own slots
                for _ in 0..<each { metrics.record(route: 0, status: 200, nanoseconds: 1_000) }
                done.signal()
            }.start()
        }
        for _ in 0..<threads { done.wait() }
        metrics.record(route: 0, status: 200, nanoseconds: 1_000)
        let lines = samples(metrics)
        #expect(lines.contains(#"pushinator_admin_requests_total{route="/user/send",status="200"} \#(threads * each + 1)"#))
        #expect(lines.contains(#"pushinator_admin_request_duration_seconds_count{route="/user/send"} \#(threads * each + 1)"#))
    }
}
