import HTTPTypes
import NIOCore
import PushinatorHTTP
import PushinatorTestSupport
import Testing

@Suite("HTTP server over sockets")
struct ServerTests {
    static let router = Router {
        Get("hello") { _, _ in "Hello!" }
        Post("echo") { request, _ in request.body.buffer }
        Get("bye") { _, _ in Response(headers: [.connection: "close"], body: .string("bye")) }
        Get("large") { _, _ in String(repeating: "x", count: 100_000) }
        Get("teapot") { _, _ in
            Response(
                status: .init(code: 418, reasonPhrase: "I'm a teapot"),
                headers: [.server: "handler", .transferEncoding: "chunked", .init("X-Custom")!: "kept"],
                body: .string("short and stout")
            )
        }
        Get("slow/:ms") { _, context in
            try await Task.sleep(for: .milliseconds(try context.parameters.require("ms", as: Int.self)))
            return "slow done"
        }
        Get("resumes-on-loop") { _, context in
            // Suspend twice (a timer, then a future the loop completes later): where does the handler go on?
            try await Task.sleep(for: .milliseconds(5))
            let afterSleep = context.eventLoop.inEventLoop
            try await context.eventLoop.submit {}.get()
            return "\(afterSleep) \(context.eventLoop.inEventLoop)"
        }
        Get("stream-on-loop") { _, context in
            Response(body: .stream { writer in
                try await Task.sleep(for: .milliseconds(5))
                try await writer.write(ByteBuffer(string: "\(context.eventLoop.inEventLoop)"))
            })
        }
        Get("stream") { _, _ in
            Response(
                headers: [.contentType: "text/plain"],
                body: .stream { writer in
                    for index in 1...3 {
                        try await writer.write(ByteBuffer(string: "part \(index)\n"))
                        try await Task.sleep(for: .milliseconds(5))
                    }
                }
            )
        }
    }

    @Test func asyncHandlersAndStreamedBodiesResumeOnTheirConnectionsEventLoop() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            #expect(try await request(server, "/resumes-on-loop").text == "true true")
            #expect(try await request(server, "/stream-on-loop").text == "true")
        }
    }

    @Test func keepAliveConnectionServesSeveralRequests() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            for _ in 0..<3 {
                try await client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "Hello!")
                #expect(response.header("connection") == nil)
            }
            #expect(!client.isClosed)
            await client.close()
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            // The first request is slow: the second must still come second.
            try await client.send(
                "GET /slow/100 HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                    + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            #expect(try await client.readResponse().text == "slow done")
            #expect(try await client.readResponse().text == "first")
            #expect(try await client.readResponse().text == "Hello!")
            await client.close()
        }
    }

    @Test func malformedRequestBehindASlowOneIsAnsweredAfterIt() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("GET /slow/100 HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\u{1}LINE\r\n\r\n")
            #expect(try await client.readResponse().text == "slow done")
            let error = try await client.readResponse()
            #expect(error.status == 400)
            #expect(error.header("connection") == "close")
            _ = try await client.readUntilClose()
        }
    }

    @Test func handlerAskingToCloseClosesTheConnection() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("GET /bye HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.text == "bye")
            #expect(response.header("connection") == "close")
            _ = try await client.readUntilClose()
        }
    }

    @Test func largeBodyFollowsItsHeadIntact() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            for _ in 0..<2 {
                try await client.send("GET /large HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try await client.readResponse()
                #expect(response.header("content-length") == "100000")
                #expect(response.text == String(repeating: "x", count: 100_000))
            }
            await client.close()
        }
    }

    @Test func responseHeadKeepsHandlerFieldsButNotFraming() async throws {
        let configuration = HTTPServerConfiguration(serverName: "pushinator")
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("GET /teapot HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 418)
            #expect(response.statusLine == "HTTP/1.1 418 I'm a teapot")
            #expect(response.headers("server") == ["pushinator"])
            #expect(response.header("transfer-encoding") == nil)
            #expect(response.header("content-length") == "15")
            #expect(response.header("x-custom") == "kept")
            #expect(response.text == "short and stout")
            try await client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "Hello!")
            await client.close()
        }
    }

    @Test func connectionCloseRequestClosesAfterResponse() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("connection") == "close")
            _ = try await client.readUntilClose()
        }
    }

    @Test func bodyOverLimitByContentLengthIs413() async throws {
        let configuration = HTTPServerConfiguration(maxRequestBodySize: 1000)
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 413)
            #expect(response.header("connection") == "close")
            #expect(response.text == #"{"error":"Request body is larger than 1000 bytes","status":413}"#)
            _ = try await client.readUntilClose()
        }
    }

    @Test func chunkedBodyOverLimitIs413() async throws {
        let configuration = HTTPServerConfiguration(maxRequestBodySize: 1000)
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            let chunk = String(repeating: "a", count: 600)
            try await client.send(
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n"
            )
            let response = try await client.readResponse()
            #expect(response.status == 413)
            _ = try await client.readUntilClose()
        }
    }

    @Test func chunkedBodyWithinLimitIsCollected() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send(
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            #expect(try await client.readResponse().text == "hello world")
            await client.close()
        }
    }

    @Test func headersOverLimitAre431() async throws {
        let configuration = HTTPServerConfiguration(maxHeaderSize: 2048)
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            let big = String(repeating: "v", count: 4096)
            try await client.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 431)
            _ = try await client.readUntilClose()
        }
    }

    @Test func malformedRequestLineIs400AndClosesWhileOtherConnectionsWork() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let healthy = try await RawClient.connect(port: server.port)
            try await healthy.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await healthy.readResponse().status == 200)

            let broken = try await RawClient.connect(port: server.port)
            try await broken.send("GARBAGE\u{1}LINE\r\n\r\n")
            let response = try await broken.readResponse()
            #expect(response.status == 400)
            #expect(response.header("connection") == "close")
            _ = try await broken.readUntilClose()

            try await healthy.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await healthy.readResponse().text == "Hello!")
            await healthy.close()
        }
    }

    @Test func streamedBodyIsChunked() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.chunked)
            #expect(response.header("content-length") == nil)
            #expect(response.text == "part 1\npart 2\npart 3\n")
            // The connection stays usable.
            try await client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "Hello!")
            await client.close()
        }
    }

    @Test func streamedHeadResponseHasNoBody() async throws {
        try await TestServer.with(Self.router) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port)
            try await client.send("HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse(isHead: true).status == 200)
            #expect(try await client.readResponse().text == "Hello!")
            await client.close()
        }
    }

    @Test func slowRequestHeadIsCutOff() async throws {
        let configuration = HTTPServerConfiguration(requestHeadTimeout: .seconds(1))
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            // The server's deadline starts at accept, which comes after the client begins to connect: measured from
            // here the cut-off cannot come before 1 s, however late either side is scheduled (a clock started after
            // the connect returns may start after the server's, and measure less than the deadline on a busy machine).
            let start = ContinuousClock.now
            let client = try await RawClient.connect(port: server.port, timeout: 5)
            try await client.send("GET /hello HTTP/1.1\r\nHost: x\r\n")  // never finishes the head
            _ = try await client.readUntilClose()
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(950))  // 50 ms for the two clocks' granularity, nothing for scheduling
            #expect(elapsed < .seconds(15))  // not the default 60 s idle timeout (loose: CI machines are shared)
        }
    }

    @Test func stalledRequestBodyIsCutOffAfterTheIdleTimeout() async throws {
        // a body shorter than its Content-Length used to hold the connection open forever
        let configuration = HTTPServerConfiguration(requestHeadTimeout: .seconds(1), idleTimeout: .seconds(1))
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port, timeout: 5)
            let start = ContinuousClock.now
            try await client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
            _ = try await client.readUntilClose()
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(900))  // the idle timer restarts at the body's last byte, sent after `start`
            #expect(elapsed < .seconds(15))  // not the default 60 s idle timeout (loose: CI machines are shared)
        }
    }

    @Test func slowlyArrivingBodyIsNotCutOff() async throws {
        // the body takes longer than the head timeout; each pause stays well under the idle timeout, even on a busy machine
        let configuration = HTTPServerConfiguration(requestHeadTimeout: .seconds(1), idleTimeout: .seconds(3))
        try await TestServer.with(Self.router, configuration: configuration) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port, timeout: 5)
            try await client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n")
            for byte in "abcd" {  // 1.6 s in all, each pause under the idle timeout
                try await Task.sleep(for: .milliseconds(400))
                try await client.send(String(byte))
            }
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "abcd")
            await client.close()
        }
    }

    @Test func gracefulShutdownFinishesInFlightRequestAndRefusesNewConnections() async throws {
        let started = Trace()
        let router = Router {
            Get("hello") { _, _ in "Hello!" }
            Get("inflight") { _, _ in
                started.add("started")
                try await Task.sleep(for: .milliseconds(700))
                return "slow done"
            }
        }
        try await TestServer.with(router) { (server: TestServer) async throws in
            let idle = try await RawClient.connect(port: server.port)
            try await idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try await idle.readResponse()

            let busy = try await RawClient.connect(port: server.port)
            try await busy.send("GET /inflight HTTP/1.1\r\nHost: x\r\n\r\n")
            try await waitUntil("the request reached its handler") { !started.all.isEmpty }
            await server.shutdown()

            // The idle keep-alive connection is closed at once.
            _ = try await idle.readUntilClose()
            // New connections are refused (the listener is closed).
            await #expect(throws: (any Error).self) { _ = try await RawClient.connect(port: server.port) }
            // The in-flight request completes, told that the connection closes.
            let response = try await busy.readResponse()
            #expect(response.text == "slow done")
            #expect(response.header("connection") == "close")
            _ = try await busy.readUntilClose()
        }
    }
}
