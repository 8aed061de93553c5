import Foundation
import HTTPTypes
import InMemoryLogging
import Logging
import NIOCore
import PushinatorHTTP
import PushinatorJSON
import PushinatorTestSupport
import PushinatorTesting
import Testing

/// Built-in middleware, in process (``PushinatorTesting``) unless the wire matters: curl's gzip, the
/// `Content-Length` of a compressed body, and where synchronous routes run (on the event loop or in a task).
@Suite("Built-in middleware")
struct MiddlewareTests {
    static let report = String(repeating: "{\"id\":1,\"name\":\"pushinator\",\"tags\":[\"a\",\"b\"]}\n", count: 200)

    static let compressedRouter = Router {
        CompressionMiddleware(minimumSize: 1024)
        Get("report") { _, _ in Response.text(report) }
        Get("tiny") { _, _ in "tiny" }
        Get("image") { _, _ in
            Response(headers: [.contentType: "image/png"], body: .string(String(repeating: "x", count: 4096)))
        }
        Get("stream") { _, _ in
            Response(body: .stream { writer in try await writer.write(ByteBuffer(string: report)) })
        }
    }

    @Test func gzipRoundTripWithCurl() async throws {
        try await TestServer.with(Self.compressedRouter) { (server: TestServer) async throws in
            let output = try await run(
                "curl",
                ["-s", "--compressed", "-D", "/dev/stderr", "--max-time", "10", "\(server.url)/report"]
            )
            #expect(output.status == 0)
            #expect(output.text == Self.report)
            #expect(output.stderr.lowercased().contains("content-encoding: gzip"))
            #expect(output.stderr.lowercased().contains("vary: accept-encoding"))
        }
    }

    @Test func compressedContentLengthMatchesBody() async throws {
        try await Self.compressedRouter.test(.live()) { (client) async throws in
            let response = try await client.execute(.get, "/report", headers: [.acceptEncoding: "gzip"])
            #expect(response.header("content-encoding") == "gzip")
            #expect(response.header("content-length") == String(response.body.readableBytes))
            #expect(response.body.readableBytes < Self.report.utf8.count / 4)
            #expect(Array(response.body.readableBytesView.prefix(2)) == [0x1F, 0x8B])
        }
    }

    @Test func deflateWhenPreferredAndNothingWhenRefused() async throws {
        try await Self.compressedRouter.test { (client) async throws in
            let deflate = try await client.execute(.get, "/report", headers: [.acceptEncoding: "gzip;q=0.5, deflate"])
            #expect(deflate.header("content-encoding") == "deflate")
            let refused = try await client.execute(.get, "/report", headers: [.acceptEncoding: "*, gzip;q=0, deflate;q=0"])
            #expect(refused.header("content-encoding") == nil)
            #expect(refused.text == Self.report)
            let identity = try await client.execute(.get, "/report", headers: [.acceptEncoding: "identity"])
            #expect(identity.header("content-encoding") == nil)
            #expect(identity.header("vary") == "Accept-Encoding")
        }
    }

    @Test func skipsTinyImageAndStreamedBodies() async throws {
        try await Self.compressedRouter.test { (client) async throws in
            for path in ["/tiny", "/image", "/stream"] {
                let response = try await client.execute(.get, path, headers: [.acceptEncoding: "gzip"])
                #expect(response.header("content-encoding") == nil, "\(path)")
            }
        }
    }

    static let corsRouter = Router {
        CORSMiddleware(allowedOrigins: .list(["https://app.example"]), allowCredentials: true, exposedHeaders: ["X-Request-Id"])
        Post("items") { _, _ in HTTPResponse.Status.created }
    }

    @Test func corsPreflightIsAnsweredWithoutTheRoute() async throws {
        try await Self.corsRouter.test { (client) async throws in
            let response = try await client.execute(
                .options,
                "/items",
                headers: [
                    .origin: "https://app.example",
                    .accessControlRequestMethod: "POST",
                    .accessControlRequestHeaders: "content-type, x-token",
                ]
            )
            #expect(response.status == .noContent)
            #expect(response.header("access-control-allow-origin") == "https://app.example")
            #expect(response.header("access-control-allow-credentials") == "true")
            #expect(response.header("access-control-allow-methods")?.contains("POST") == true)
            #expect(response.header("access-control-allow-headers") == "content-type, x-token")
            #expect(response.header("access-control-max-age") == "600")
            #expect(response.headerValues("vary").contains("Origin"))
        }
    }

    @Test func corsHeadersOnErrorResponses() async throws {
        try await Self.corsRouter.test { (client) async throws in
            let response = try await client.execute(.get, "/missing", headers: [.origin: "https://app.example"])
            #expect(response.status == .notFound)
            #expect(response.header("access-control-allow-origin") == "https://app.example")
            #expect(response.header("access-control-expose-headers") == "X-Request-Id")
            let other = try await client.execute(.post, "/items", headers: [.origin: "https://evil.example"])
            #expect(other.status == .created)
            #expect(other.header("access-control-allow-origin") == nil)
        }
    }

    @Test func corsAnyOriginWithoutCredentialsIsStar() async throws {
        let router = Router {
            CORSMiddleware()
            Get("x") { _, _ in "x" }
        }
        try await router.test { (client) async throws in
            let response = try await client.execute(.get, "/x", headers: [.origin: "https://a.example"])
            #expect(response.header("access-control-allow-origin") == "*")
        }
    }

    @Test func requestLogAssignsIDLogsAndReturnsIt() async throws {
        let logs = InMemoryLogHandler()
        var logger = Logger(label: "test") { _ in logs }
        logger.logLevel = .info
        let router = Router {
            RequestLogMiddleware(.info)
            Get("hello") { _, context in
                context.logger.info("in handler")
                return "hi"
            }
        }
        try await router.test(logger: logger) { (client) async throws in
            let given = try await client.execute(.get, "/hello", headers: [HTTPField.Name("X-Request-Id")!: "abc-123"])
            #expect(given.header("x-request-id") == "abc-123")
            let generated = try await client.execute(.get, "/nothing")
            let id = try #require(generated.header("x-request-id"))
            #expect(id.count == 25 && id.contains("-"))  // 16 hex digits, "-", an 8-digit counter
            let lines = logs.entries.filter { $0.message == "request" }
            #expect(lines.count == 2)
            let first = try #require(lines.first)
            #expect(first.metadata["http.method"] == "GET")
            #expect(first.metadata["http.path"] == "/hello")
            #expect(first.metadata["http.status"] == "200")
            #expect(first.metadata["http.request_id"] == "abc-123")
            #expect(first.metadata["http.duration_ms"] != nil)
            #expect(lines.last?.metadata["http.status"] == "404")
            #expect(lines.last?.metadata["http.request_id"] == .string(id))
            let handlerLine = logs.entries.first { $0.message == "in handler" }
            #expect(handlerLine?.metadata["http.request_id"] == "abc-123")
        }
    }

    /// Appends its name to `X-Trace` on the way in (as a header the handler echoes) and on the way out.
    struct Tag: SynchronousMiddleware {
        let name: String
        func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? {
            if request.headers[MiddlewareTests.stop] == name { return Response.text("stopped by \(name)") }
            if request.headers[MiddlewareTests.fail] == name { throw HTTPError(.forbidden, message: "refused by \(name)") }
            context.storage[TraceKey.self] = (context.storage[TraceKey.self] ?? []) + ["in " + name]
            return nil
        }
        func handleResponse(_ response: inout Response, request: Request, context: RequestContext) {
            response.headers.append(HTTPField(name: .init("X-Trace")!, value: "out " + name))
        }
    }
    enum TraceKey: ContextStorageKey { typealias Value = [String] }
    static let stop = HTTPField.Name("X-Stop")!
    static let fail = HTTPField.Name("X-Fail")!

    /// Where a handler runs: on the event loop without a task, or in a task.
    static func whereAmI(_ context: RequestContext) -> String {
        let place = withUnsafeCurrentTask { $0 == nil } ? "event loop" : "task"
        return place + ": " + (context.storage[TraceKey.self] ?? []).joined(separator: ", ")
    }

    @Test func synchronousMiddlewareKeepsSynchronousRoutesOffTasks() async throws {
        let router = Router {
            Tag(name: "outer")
            RouteGroup("group") {
                Tag(name: "inner")
                Get("sync") { _, context in Self.whereAmI(context) }
                Get("async") { _, context in
                    await Task.yield()
                    return Self.whereAmI(context)
                }
            }
            RouteGroup("mixed") {
                ClosureMiddleware { request, context, next in try await next(request, context) }
                Get("sync") { _, context in Self.whereAmI(context) }
            }
        }
        // Live: in process every request runs in the test's task.
        try await router.test(.live()) { (client) async throws in
            let sync = try await client.execute(.get, "/group/sync")
            #expect(sync.text == "event loop: in outer, in inner")
            #expect(sync.headerValues("x-trace") == ["out inner", "out outer"])
            #expect(try await client.execute(.get, "/group/async").text == "task: in outer, in inner")
            #expect(try await client.execute(.get, "/mixed/sync").text == "task: in outer")

            let stopped = try await client.execute(.get, "/group/sync", headers: [Self.stop: "inner"])
            #expect(stopped.text == "stopped by inner")
            #expect(stopped.headerValues("x-trace") == ["out outer"])
            let refused = try await client.execute(.get, "/group/sync", headers: [Self.fail: "inner"])
            #expect(refused.status == .forbidden)
            #expect(refused.text == #"{"error":"refused by inner","status":403}"#)
            #expect(refused.headerValues("x-trace") == ["out outer"])
            let missing = try await client.execute(.get, "/nothing")
            #expect(missing.status == .notFound)
            #expect(missing.headerValues("x-trace") == ["out outer"])
        }
    }

    @Test func fastPathAnswersOnTheLoopAndDeclinesToTheAsyncHandler() async throws {
        // `synchronously` answers on the event loop when it can; when it returns nil the async handler answers
        // in a task, behind the same middleware, which runs once more from the start (and once on the way out).
        let router = Router {
            Tag(name: "outer")
            Post("send", synchronously: { request, context -> String? in
                request.headers[.init("X-Wait")!] == nil ? "fast " + Self.whereAmI(context) : nil
            }) { _, context in
                await Task.yield()
                return "slow " + Self.whereAmI(context)
            }
        }
        try await router.test(.live()) { (client) async throws in
            let fast = try await client.execute(.post, "/send")
            #expect(fast.text == "fast event loop: in outer")
            #expect(fast.headerValues("x-trace") == ["out outer"])
            let slow = try await client.execute(.post, "/send", headers: [HTTPField.Name("X-Wait")!: "1"])
            #expect(slow.text == "slow task: in outer")
            #expect(slow.headerValues("x-trace") == ["out outer"])
            let refused = try await client.execute(.post, "/send", headers: [Self.fail: "outer"])
            #expect(refused.status == .forbidden)
            #expect(try await client.execute(.get, "/send").status == .methodNotAllowed)
        }
    }

    /// A mounted responder with a fast path: answers `/fast` on the loop, declines the rest to `respond`.
    struct FastMounted: SynchronousHTTPResponder {
        func respondSynchronously(to request: Request, context: RequestContext) throws -> Response? {
            if context.remainingPath == "/refuse" { throw HTTPError(.forbidden, message: "refused on the loop") }
            return context.remainingPath == "/fast" ? Response.text("fast " + MiddlewareTests.whereAmI(context)) : nil
        }
        func respond(to request: Request, context: RequestContext) async throws -> Response {
            await Task.yield()
            return Response.text("slow \(context.remainingPath) " + MiddlewareTests.whereAmI(context))
        }
    }

    @Test func mountedSynchronousResponderAnswersOnTheLoopAndDeclinesToRespond() async throws {
        let router = Router {
            Tag(name: "outer")
            RouteGroup("sync") {
                Tag(name: "inner")
                Mount("io", responder: FastMounted())
            }
            RouteGroup("mixed") {
                ClosureMiddleware { request, context, next in try await next(request, context) }
                Mount("io", responder: FastMounted())
            }
        }
        try await router.test(.live()) { (client) async throws in
            let fast = try await client.execute(.get, "/sync/io/fast")
            #expect(fast.text == "fast event loop: in outer, in inner")
            #expect(fast.headerValues("x-trace") == ["out inner", "out outer"])
            let slow = try await client.execute(.post, "/sync/io/other")
            #expect(slow.text == "slow /other task: in outer, in inner")
            #expect(slow.headerValues("x-trace") == ["out inner", "out outer"])
            let refused = try await client.execute(.get, "/sync/io/refuse")
            #expect(refused.status == .forbidden)
            #expect(refused.text == #"{"error":"refused on the loop","status":403}"#)
            #expect(refused.headerValues("x-trace") == ["out inner", "out outer"])
            // Middleware that may suspend around the mount: every request in a task.
            #expect(try await client.execute(.get, "/mixed/io/fast").text == "slow /fast task: in outer")
        }
    }

    struct Push: Decodable {
        var room: String
        var count: Int
    }

    static let jsonRouter = Router {
        Post("push") { request, _ in
            let push = try request.decode(as: Push.self)
            return "\(push.room) \(push.count)"
        }
        Post("echo") { request, _ in try request.json() }
    }

    @Test func decodesJSONBody() async throws {
        try await Self.jsonRouter.test { (client) async throws in
            let response = try await client.execute(.post, "/push", body: #"{"room":"lobby","count":3}"#)
            #expect(response.text == "lobby 3")
            let echo = try await client.execute(.post, "/echo", body: #"[1,"two",null]"#)
            #expect(echo.text == #"[1,"two",null]"#)
        }
    }

    @Test func invalidJSONIs400WithReason() async throws {
        try await Self.jsonRouter.test { (client) async throws in
            let response = try await client.execute(.post, "/push", body: #"{"room": "lobby",}"#)
            #expect(response.status == .badRequest)
            let message = try response.json().object?["error"]?.string ?? ""
            #expect(message.hasPrefix("Invalid JSON body: "))
            #expect(message.contains("offset"))
        }
    }

    @Test func wrongShapeIs400NamingTheMember() async throws {
        try await Self.jsonRouter.test { (client) async throws in
            let missing = try await client.execute(.post, "/push", body: #"{"room":"lobby"}"#)
            #expect(missing.status == .badRequest)
            #expect(try missing.json().object?["error"]?.string == "Invalid JSON body: missing member 'count'")
            let wrong = try await client.execute(.post, "/push", body: #"{"room":"lobby","count":"3"}"#)
            #expect(try wrong.json().object?["error"]?.string == "Invalid JSON body: 'count' must be an integer")
        }
    }
}
