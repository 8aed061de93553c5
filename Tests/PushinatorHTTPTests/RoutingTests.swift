import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import PushinatorHTTP
import PushinatorJSON
import Testing

/// Sends a simple request on a new connection and reads the response.
func request(
    _ server: TestServer,
    _ path: String,
    method: String = "GET",
    headers: String = "",
    body: String = ""
) async throws -> RawResponse {
    let client = try await RawClient.connect(port: server.port)
    defer { Task { await client.close() } }
    let length = body.isEmpty ? "" : "Content-Length: \(body.utf8.count)\r\n"
    try await client.send("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\(headers)\(length)\r\n\(body)")
    return try await client.readResponse(isHead: method == "HEAD")
}

/// Records the order in which middleware ran.
final class Trace: Sendable {
    private let entries = NIOLockedValueBox<[String]>([])
    func add(_ entry: String) { entries.withLockedValue { $0.append(entry) } }
    var all: [String] { entries.withLockedValue { $0 } }
}

struct Tag: Middleware {
    let name: String
    let trace: Trace
    func handle(_ request: Request, context: RequestContext, next: Next) async throws -> Response {
        trace.add(name)
        var response = try await next(request, context)
        response.headers.append(HTTPField(name: HTTPField.Name("X-Trace")!, value: name))
        return response
    }
}

@Suite("Routing over HTTP")
struct RoutingTests {
    static let precedenceRouter = Router {
        Get("files/special") { _, _ in "static" }
        Get("files/:name") { _, context in "parameter \(try context.parameters.require("name"))" }
        Get("files/*/raw") { _, _ in "wildcard" }
        Get("files/**") { _, context in "catch-all \(context.parameters.catchAll ?? "")" }
    }

    @Test func headUsesGetHandlerWithoutBody() async throws {
        let router = Router { Get("hello") { _, _ in "Hello!" } }
        try await TestServer.with(router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try await client.readResponse(isHead: true)
            #expect(head.status == 200)
            #expect(head.header("content-length") == "6")
            // No body bytes between the two responses: the next response parses cleanly.
            let get = try await client.readResponse()
            #expect(get.text == "Hello!")
            await client.close()
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
        try await TestServer.with(router) { (server: TestServer) async throws in
            let publicResponse = try await request(server, "/public")
            #expect(publicResponse.headers("x-trace") == ["router"])
            let admin = try await request(server, "/admin/stats")
            #expect(admin.text == "stats")
            // The inner (group) middleware appends first on the way out.
            #expect(admin.headers("x-trace") == ["group", "router"])
            let missing = try await request(server, "/admin/nothing")
            #expect(missing.status == 404)
            #expect(missing.headers("x-trace") == ["router"])
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
        try await TestServer.with(router) { (server: TestServer) async throws in
            #expect(try await request(server, "/status").text == "root status")
            #expect(try await request(server, "/api/v1/status").text == "api status at /status")
            #expect(try await request(server, "/api/v1/items/7").text == "item 7")
            #expect(try await request(server, "/api/v1/nothing").status == 404)
        }
    }

    @Test func routeCollectionRegistersItsRoutes() async throws {
        struct Users { var routes: RouteCollection { RouteCollection { Get("users") { _, _ in "users" } } } }
        let router = Router { Users().routes }
        try await TestServer.with(router) { (server: TestServer) async throws in
            #expect(try await request(server, "/users").text == "users")
        }
    }

    @Test func queryKeepsRepeatedKeysAndCookiesParse() async throws {
        let router = Router {
            Get("search") { request, _ in
                let tags = request.query.all("tag").joined(separator: ",")
                return "q=\(request.query["q"] ?? "") tags=\(tags) session=\(request.cookies["session"] ?? "-")"
            }
        }
        try await TestServer.with(router) { (server: TestServer) async throws in
            let response = try await request(
                server,
                "/search?q=hello+world&tag=a&tag=b%20c",
                headers: "Cookie: theme=dark; session=abc%3D1\r\n"
            )
            #expect(response.text == "q=hello world tags=a,b c session=abc=1")
        }
    }
}
