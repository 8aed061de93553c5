import HTTPTypes
import Logging
import PushinatorJSON
@testable import PushinatorKit
import PushinatorRuntime
import PushinatorTesting
import Testing

@Suite("Status page, its history and its JSON")
struct StatusPageTests {
    @Test func theHistoryKeepsTheLastSamplesOldestFirst() {
        let history = StatusHistory(capacity: 3)
        history.record(sent: 10, delivered: 100)  // the baseline: no sample
        #expect(history.samples.isEmpty)
        for step in 1...5 { history.record(sent: 10 + step, delivered: 100 + 10 * step * step) }
        // deliveries grew by 10, 30, 50, 70, 90: the ring keeps the last three
        #expect(history.samples.map(\.delivered) == [50, 70, 90])
        #expect(history.samples.map(\.sent) == [1, 1, 1])
    }

    @Test func figuresAreFormattedForPeople() {
        #expect(StatusSnapshot.decimal(0) == "0")
        #expect(StatusSnapshot.decimal(12.34) == "12.3")
        #expect(StatusSnapshot.decimal(7.96) == "8")
        #expect(StatusSnapshot.duration(42) == "42s")
        #expect(StatusSnapshot.duration(307) == "5m 07s")
        #expect(StatusSnapshot.duration(7380) == "2h 03m")
        #expect(StatusSnapshot.duration(3 * 86400 + 4 * 3600 + 5) == "3d 4h")
        #expect(StatusSnapshot.clock(0) == "1970-01-01 00:00:00Z")
    }

    @Test func thePageAndItsJSONShowTheSameFigures() async throws {
        try await withApp { app, client in
            _ = try await client.post("/user/register", #"{"userId": "a", "hash": "h"}"#)
            _ = try await client.post("/user/send", #"{"userId": "a", "message": "queued"}"#)
            app.warnings.record(.warning, "disk <full>")
            let status = try await client.execute(.get, "/status")
            #expect(status.status == 200)
            #expect(status["values"]?.object?["sentTotal"] == 1)
            #expect(status["values"]?.object?["queued"] == 1)
            #expect(status["figures"]?.object?["users-registered"] == "1")
            #expect(status["warnings"]?.array?.first?.object?["message"] == "disk <full>")

            let page = try StatusPage.render(StatusSnapshot(app))
            #expect(page.contains(#"<b id="queued">1</b>"#))
            #expect(page.contains("disk &lt;full&gt;"))  // escaped: a logged value cannot inject markup
            #expect(!page.contains("{{"))
        }
    }
}
