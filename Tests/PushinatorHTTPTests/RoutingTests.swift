import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import PushinatorHTTP
import PushinatorJSON
import PushinatorTestSupport
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
}
