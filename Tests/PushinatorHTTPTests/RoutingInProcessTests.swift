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

    @Test func groupMiddlewareRunsOnlyForGroupRoutesAndAfterRouterMiddleware() async throws {
        let trace = Trace()
        let router = Router {
            Tag(name: "router", trace: trace)
            Get("public") { _, _ in "public" }
            RouteGroup("admin") {
                Tag(name: "group", trace: trace)
                Get("stats") { _, _ in "stats" }
            }
        }
        try await router.test { (client) async throws in
            let publicResponse = try await client.execute(.get, "/public")
            #expect(publicResponse.headerValues("x-trace") == ["router"])
            let admin = try await client.execute(.get, "/admin/stats")
            #expect(admin.text == "stats")
            // The inner (group) middleware appends first on the way out.
            #expect(admin.headerValues("x-trace") == ["group", "router"])
            let missing = try await client.execute(.get, "/admin/nothing")
            #expect(missing.status == .notFound)
            #expect(missing.headerValues("x-trace") == ["router"])
            #expect(trace.all == ["router", "router", "group", "router"])
        }
    }

    @Test func mountedRouterSeesPathBelowPrefix() async throws {
        let api = Router {
            Get("status") { _, context in "api status at \(context.remainingPath)" }
            Get("items/:id") { _, context in "item \(try context.parameters.require("id"))" }
        }
        let router = Router {
            Get("status") { _, _ in "root status" }
            Mount("api/v1", responder: api)
        }
        try await router.test { (client) async throws in
            #expect(try await client.execute(.get, "/status").text == "root status")
            #expect(try await client.execute(.get, "/api/v1/status").text == "api status at /status")
            #expect(try await client.execute(.get, "/api/v1/items/7").text == "item 7")
            #expect(try await client.execute(.get, "/api/v1/nothing").status == .notFound)
        }
    }

    @Test func routeCollectionRegistersItsRoutes() async throws {
        struct Users { var routes: RouteCollection { RouteCollection { Get("users") { _, _ in "users" } } } }
        let router = Router { Users().routes }
        try await router.test { (client) async throws in
            #expect(try await client.execute(.get, "/users").text == "users")
        }
    }

    @Test func queryKeepsRepeatedKeysAndCookiesParse() async throws {
        let router = Router {
            Get("search") { request, _ in
                let tags = request.query.all("tag").joined(separator: ",")
                return "q=\(request.query["q"] ?? "") tags=\(tags) session=\(request.cookies["session"] ?? "-")"
            }
        }
        try await router.test { (client) async throws in
            let response = try await client.execute(
                .get,
                "/search?q=hello+world&tag=a&tag=b%20c",
                headers: [.cookie: "theme=dark; session=abc%3D1"]
            )
            #expect(response.text == "q=hello world tags=a,b c session=abc=1")
        }
    }
}
