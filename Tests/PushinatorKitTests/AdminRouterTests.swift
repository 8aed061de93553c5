import HTTPTypes
import NIOCore
import PushinatorJSON
import PushinatorKit
import PushinatorTesting
import Synchronization
import Testing

@Suite("Admin API in process")
struct AdminRouterTests {
    @Test func registerListAndUnregister() async throws {
        try await withApp { app, client in
            let registered = try await client.post("/user/register", #"{"userId": 7, "hash": "h"}"#)
            #expect(registered.status == 200)
            #expect(try registered.json() == ["result": "OK", "status": 200])
            #expect(app.users.verify("7", hash: "h"))
            #expect(try await client.post("/user/list")["users"] == ["7"])
            let removed = try await client.post("/user/unregister", #"{"userId": "7"}"#)
            #expect(try removed.json() == ["result": "OK", "removed": true, "status": 200])
            #expect(try await client.post("/user/unregister", #"{"userId": "7"}"#)["removed"] == false)
            #expect(try await client.post("/user/list")["users"] == [])
        }
    }

    @Test func missingFieldsAre400WithTheBodyEchoed() async throws {
        try await withApp { _, client in
            let reply = try await client.post("/user/register", #"{"userId": 7}"#)
            #expect(reply.status == 400)
            #expect(reply["error"] == "Missing userId or hash in data")
            #expect(reply["data"] == ["userId": 7])
            #expect(try await client.post("/user/send", #"{"userId": 7}"#).status == 400)
            #expect(try await client.post("/broadcast", "{}").status == 400)
        }
    }

    @Test func aBodyThatIsNotAJSONObjectIs400() async throws {
        try await withApp { _, client in
            let reply = try await client.post("/user/register", "userId=7&hash=h")
            #expect(reply.status == 400)
            #expect(reply["error"]?.string?.hasPrefix("Not A JSON Body") == true)
            #expect(try await client.post("/user/send", "[1]").status == 400)
        }
    }

    @Test func sendToUsersWithoutSocketsQueuesForTheRegisteredOnes() async throws {
        try await withApp { app, client in
            _ = try await client.post("/user/register", #"{"userId": "a", "hash": "h"}"#)
            let reply = try await client.post("/user/send", #"{"userIds": ["a", "b"], "message": {"x": 1}}"#)
            #expect(try reply.json() == ["result": "OK", "delivered": 0, "queued": 1, "status": 200])
            #expect(app.users.store.take(for: "a", now: WallClock.milliseconds()).map(\.message) == [#"{"x":1}"#])
            #expect(try await client.post("/broadcast", #"{"message": "hi"}"#)["delivered"] == 0)
        }
    }

    @Test func aSendThatReachesNoSocketIsQueuedEvenWhileAConnectionIsCountedOff() async throws {
        // A socket leaves its user's room before its disconnect handler counts the connection off: a send in
        // between reached nobody and must be queued, not lost (test_user_is_kept_after_its_last_connection_closes).
        try await withApp { app, client in
            _ = try await client.post("/user/register", #"{"userId": "a", "hash": "h"}"#)
            app.users.connectionOpened("a")  // counted, in no room
            let reply = try await client.post("/user/send", #"{"userId": "a", "message": "x"}"#)
            #expect(try reply.json() == ["result": "OK", "delivered": 0, "queued": 1, "status": 200])
            app.users.connectionClosed("a")
        }
    }

    @Test func pingHealthAndStats() async throws {
        try await withApp { _, client in
            #expect(try await client.post("/ping").json() == ["result": "pong", "status": 200])
            let health = try await client.execute(.get, "/health")
            #expect(health["result"] == "OK" && health["status"] == 200)
            #expect(health["version"] == .string(PushApp.version))
            #expect(health["connections"] == 0 && health["users"] == 0)
            _ = try await client.post("/user/register", #"{"userId": "a", "hash": "h"}"#)
            let stats = try await client.post("/stats")
            #expect(stats["users"] == 1)
            #expect(stats["connections"] == 0)
            #expect(stats["uptime"]?.int.map { $0 >= 0 } == true)
            let memory = stats["memory"]?.object
            #expect(memory?["rss" as String]?.int.map { $0 > 0 } == true)
            #expect(try await client.post("/nowhere").status == 404)
        }
    }

    @Test func metricsAreServedByDefaultAnd404WhenTurnedOff() async throws {
        try await withApp { app, client in
            _ = try await client.post("/user/send", #"{"userId": "a", "message": "x"}"#)
            let scrape = try await client.execute(.get, "/metrics")
            #expect(scrape.status == 200)
            let text = String(buffer: scrape.body)
            #expect(text.contains("pushinator_messages_sent_total 1"))
            #expect(text.contains(#"pushinator_admin_requests_total{route="/user/send",status="200"} 1"#))
            #expect(app.metrics != nil)
        }
        try await withApp({ $0.adminMetrics = false }) { app, client in
            #expect(app.metrics == nil)
            _ = try await client.post("/user/send", #"{"userId": "a", "message": "x"}"#)
            let off = try await client.execute(.get, "/metrics")
            #expect(off.status == 404)
            #expect(off["error"] == "Metrics are disabled (admin.metrics is false)")
            let status = try await client.execute(.get, "/status")  // the status page still counts without metrics
            #expect(status["values"]?.object?["sentTotal"] == 1)
        }
    }

    @Test func theTokenIsRequiredWhenSet() async throws {
        try await withApp({ $0.adminToken = "s3cret" }) { _, client in
            let refused = try await client.post("/ping")
            #expect(refused.status == 401)
            #expect(refused.headers[.wwwAuthenticate] == "Bearer")
            #expect(try await client.post("/ping", headers: [.authorization: "Bearer wrong"]).status == 401)
            #expect(try await client.post("/ping", headers: [.authorization: "Bearer s3cret"]).status == 200)
        }
    }

    @Test func browserOriginsAreRefusedUnlessAllowed() async throws {
        try await withApp({ $0.adminAllowedOrigins = ["https://ok.example"] }) { (app, client) async throws in
            #expect(try await client.post("/ping", headers: [.origin: "https://evil.example"]).status == 403)
            #expect(try await client.post("/ping", headers: [.origin: "https://ok.example"]).status == 200)
            app.settings.withLock { $0.adminAllowedOrigins = [] }  // a reload applies to the next request
            #expect(try await client.post("/ping", headers: [.origin: "https://ok.example"]).status == 403)
        }
    }

    @Test func messageEncodingFollowsTheSettings() {
        let app = makeApp()
        #expect(app.payload(["a": 1]) == .string(#"{"a":1}"#))
        app.settings.withLock { $0.messageEncoding = .raw }
        #expect(app.payload(["a": 1]) == ["a": 1])
    }

    @Test func overlongUserIDsAndHashesAre400() async throws {
        try await withApp { app, client in
            let longID = String(repeating: "u", count: UserRegistry.maximumUserIDLength + 1)
            let reply = try await client.post("/user/register", #"{"userId": "\#(longID)", "hash": "h"}"#)
            #expect(reply.status == 400)
            #expect(reply["error"] == "userId longer than 256 bytes")
            let longHash = String(repeating: "h", count: UserRegistry.maximumHashLength + 1)
            #expect(try await client.post("/user/register", #"{"userId": "u", "hash": "\#(longHash)"}"#).status == 400)
            #expect(app.users.count == 0)
            let longest = String(repeating: "u", count: UserRegistry.maximumUserIDLength)
            #expect(try await client.post("/user/register", #"{"userId": "\#(longest)", "hash": "h"}"#).status == 200)
        }
    }
}
