import HTTPTypes
import NIOCore
import PushinatorHTTP
import PushinatorJSON
import PushinatorTesting
import Testing

/// Routing, in process: the router's answers without a socket (``PushinatorTesting``).
@Suite("Routing in process")
struct RoutingInProcessTests {
    static let precedenceRouter = RoutingTests.precedenceRouter

    @Test func staticBeatsParameterBeatsWildcardBeatsCatchAll() async throws {
        try await Self.precedenceRouter.test { (client) async throws in
            #expect(try await client.execute(.get, "/files/special").text == "static")
            #expect(try await client.execute(.get, "/files/report").text == "parameter report")
            #expect(try await client.execute(.get, "/files/report/raw").text == "wildcard")
            #expect(try await client.execute(.get, "/files/a/b/c").text == "catch-all a/b/c")
        }
    }

    @Test func staticRouteWithoutTheMethodLeavesThePathToOtherRoutes() async throws {
        // static routes are found by their whole path; one that lacks the method must not hide a parameter route
        let router = Router {
            Get("users/me") { _, _ in "me" }
            Post("users/:id") { _, context in "post \(try context.parameters.require("id"))" }
            Get("/") { _, _ in "root" }
        }
        try await router.test { (client) async throws in
            #expect(try await client.execute(.get, "/users/me").text == "me")
            #expect(try await client.execute(.post, "/users/me").text == "post me")
            #expect(try await client.execute(.post, "/users/7").text == "post 7")
            #expect(try await client.execute(.get, "//users//me/").text == "me")  // empty segments are ignored
            #expect(try await client.execute(.post, "/users/me/").text == "post me")
            #expect(try await client.execute(.get, "/").text == "root")
            #expect(try await client.execute(.get, "/users/7").status == 405)
        }
    }

    @Test func typedParameterRequireRejectsWrongType() async throws {
        let router = Router {
            Get("users/:id") { _, context in "user \(try context.parameters.require("id", as: Int.self))" }
        }
        try await router.test { (client) async throws in
            #expect(try await client.execute(.get, "/users/42").text == "user 42")
            let bad = try await client.execute(.get, "/users/abc")
            #expect(bad.status == 400)
            let json = try JSONValue(parsing: bad.text)
            #expect(json.object?["error"]?.string == "Path parameter 'id' must be Int, found 'abc'")
            #expect(json.object?["status"]?.int == 400)
        }
    }

    @Test func unknownPathIs404WithJSONBody() async throws {
        try await Self.precedenceRouter.test { (client) async throws in
            let response = try await client.execute(.get, "/nothing")
            #expect(response.status == 404)
            #expect(response.header("content-type")?.hasPrefix("application/json") == true)
            #expect(response.text == #"{"error":"Not Found","status":404}"#)
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        let router = Router {
            Get("items") { _, _ in "list" }
            Post("items") { _, _ in HTTPResponse.Status.created }
        }
        try await router.test { (client) async throws in
            let response = try await client.execute(.delete, "/items")
            #expect(response.status == 405)
            #expect(response.header("allow") == "GET, HEAD, OPTIONS, POST")
        }
    }

    @Test func optionsAnswersWithAllow() async throws {
        let router = Router { Get("items") { _, _ in "list" } }
        try await router.test { (client) async throws in
            let response = try await client.execute(.options, "/items")
            #expect(response.status == 204)
            #expect(response.header("allow") == "GET, HEAD, OPTIONS")
        }
    }

    @Test func theSameClosureRunsAgainstALiveServer() async throws {
        for setup in [TestingSetup.inProcess, .live()] {
            try await Self.precedenceRouter.test(setup) { (client) async throws in
                #expect(try await client.execute(.get, "/files/special").text == "static")
                let missing = try await client.execute(.get, "/nothing")
                #expect(missing.status == .notFound)
                #expect(missing.header("content-type")?.hasPrefix("application/json") == true)
                #expect(try missing.json().object?["status"]?.int == 404)
            }
        }
    }

    @Test func bodiesAndStreamedResponsesReachTheTest() async throws {
        let router = Router {
            Post("echo") { request, _ in request.body.buffer }
            Get("stream") { _, _ in
                Response(body: .stream { writer in
                    for part in ["a", "b", "c"] { try await writer.write(ByteBuffer(string: part)) }
                })
            }
        }
        for setup in [TestingSetup.inProcess, .live()] {
            try await router.test(setup) { (client) async throws in
                #expect(try await client.execute(.post, "/echo", body: "hello").text == "hello")
                #expect(try await client.execute(.get, "/stream").text == "abc")
            }
        }
    }
}
