import HTTPTypes
import NIOCore
import NIOPosix
import PushinatorHTTP
import PushinatorTestSupport
import Testing

/// The reverse-proxy client over real sockets: a front server forwards every request to an upstream server.
@Suite("HTTP forwarding client")
struct HTTPForwardingClientTests {
    static let marker = HTTPField.Name("X-Test-Forwarded")!

    /// Forwards every request to `upstream`, marked.
    struct Front: HTTPResponder {
        let client: HTTPForwardingClient
        let upstream: HTTPUpstream

        func respond(to request: Request, context: RequestContext) async throws -> Response {
            try await client.forward(request, context: context, to: upstream, headers: [HTTPForwardingClientTests.marker: "yes"])
        }
    }

    static let upstreamRouter = Router {
        Post("echo") { request, _ in
            var body = request.body.buffer
            body.writeString(
                "|xff=\(request.headers[.init("X-Forwarded-For")!] ?? "-")|marker=\(request.headers[marker] ?? "-")"
                    + "|host=\(request.head.authority ?? "-")|query=\(request.rawQuery)"
            )
            return Response(status: .created, headers: [.init("X-Upstream")!: "1"], body: .buffer(body))
        }
        Get("slow") { _, _ in
            try await Task.sleep(for: .seconds(2))
            return "late"
        }
        Get("large") { _, _ in String(repeating: "x", count: 10_000) }
        Get("echo-ws") { _, _ in
            Response.webSocket { socket in
                for await message in socket.messages { socket.send(message) }
            }
        }
        Get("refused-ws") { _, _ -> Response in throw HTTPError(.badRequest, message: "no session") }
    }

    func withFront(
        _ configuration: HTTPForwardingClient.Configuration = .init(),
        upstreamPort: Int? = nil,
        _ body: (TestServer, HTTPForwardingClient, HTTPUpstream) async throws -> Void
    ) async throws {
        try await TestServer.with(Self.upstreamRouter) { upstreamServer in
            let upstream = HTTPUpstream(host: "127.0.0.1", port: upstreamPort ?? upstreamServer.port)
            let client = HTTPForwardingClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
            try await TestServer.with(Front(client: client, upstream: upstream)) { front in
                try await body(front, client, upstream)
            }
        }
    }

    @Test func relaysTheRequestAndTheResponseAndReusesTheConnection() async throws {
        try await withFront { front, client, upstream in
            let raw = try await RawClient.connect(port: front.port)
            for round in 1...2 {
                try await raw.send(
                    "POST /echo?sid=abc HTTP/1.1\r\nHost: push.example\r\nX-Forwarded-For: 203.0.113.7\r\n"
                        + "Connection: keep-alive\r\nContent-Length: 5\r\n\r\nhello"
                )
                let response = try await raw.readResponse()
                #expect(response.status == 201)
                #expect(response.header("x-upstream") == "1")
                #expect(response.text == "hello|xff=203.0.113.7, 127.0.0.1|marker=yes|host=push.example|query=sid=abc")
                #expect(client.idleConnections(to: upstream) == 1, "round \(round)")
                #expect(client.inFlight(to: upstream) == 0)
            }
            await raw.close()
        }
    }

    @Test func anExpectContinueIsAnsweredHereNotForwarded() async throws {
        try await withFront { front, _, _ in
            let raw = try await RawClient.connect(port: front.port)
            try await raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            #expect(try await raw.readResponse().status == 100)
            try await raw.send("hi")
            let response = try await raw.readResponse()
            #expect(response.status == 201)
            #expect(response.text.hasPrefix("hi|"))
            await raw.close()
        }
    }

    @Test func tooManyRequestsInFlightAre503() async throws {
        try await withFront(.init(maxInFlightPerUpstream: 1)) { front, client, upstream in
            let first = try await RawClient.connect(port: front.port)
            try await first.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            try await waitUntil("the first request in flight") { client.inFlight(to: upstream) == 1 }
            let second = try await RawClient.connect(port: front.port)
            try await second.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            let refused = try await second.readResponse()
            #expect(refused.status == 503)
            #expect(refused.text.contains("too many requests in flight"))
            #expect(try await first.readResponse().text == "late")
            await first.close()
            await second.close()
        }
    }

    @Test func aSlowUpstreamIs504AndItsConnectionIsNotKept() async throws {
        try await withFront(.init(responseTimeout: .milliseconds(200))) { front, client, upstream in
            let raw = try await RawClient.connect(port: front.port)
            try await raw.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await raw.readResponse().status == 504)
            #expect(client.idleConnections(to: upstream) == 0)
            await raw.close()
        }
    }

    @Test func aLargeResponseIs502() async throws {
        try await withFront(.init(maxResponseBodyBytes: 1_000)) { front, _, _ in
            let raw = try await RawClient.connect(port: front.port)
            try await raw.send("GET /large HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await raw.readResponse()
            #expect(response.status == 502)
            #expect(response.text.contains("over the size limit"))
            await raw.close()
        }
    }

    @Test func anUnreachableUpstreamIs502() async throws {
        try await withFront(upstreamPort: 1) { front, _, _ in
            let raw = try await RawClient.connect(port: front.port)
            try await raw.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await raw.readResponse()
            #expect(response.status == 502)
            #expect(response.text.contains("cannot connect"))
            await raw.close()
        }
    }

    @Test func aWebSocketUpgradeBecomesAPipeAfterTheUpstreams101() async throws {
        try await withFront { front, client, upstream in
            let raw = try await RawClient.connect(port: front.port)
            let response = try await raw.upgrade(path: "/echo-ws")
            #expect(response.status == 101)
            #expect(response.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            for text in ["one", String(repeating: "z", count: 100_000)] {
                try await raw.sendFrame(opcode: 0x1, payload: Array(text.utf8))
                let frame = try await raw.readFrame()
                #expect(frame.opcode == 0x1 && frame.text == text)
            }
            #expect(client.inFlight(to: upstream) == 0)  // a pipe is not a request in flight
            try await raw.sendFrame(opcode: 0x8, payload: [0x03, 0xE8])
            #expect(try await raw.readFrame().closeCode == 1000)
            _ = try await raw.readUntilClose()  // the upstream closed, so did the pipe
        }
    }

    @Test func aRefusedUpgradeIsRelayedAsIs() async throws {
        try await withFront { front, _, _ in
            let raw = try await RawClient.connect(port: front.port)
            let response = try await raw.upgrade(path: "/refused-ws")
            #expect(response.status == 400)
            #expect(response.text.contains("no session"))
            await raw.close()
        }
    }

    @Test(arguments: [
        ("http://10.0.0.5:8081", "10.0.0.5", 8081), ("10.0.0.5:8081/", "10.0.0.5", 8081),
        ("[fd00::5]:8081", "fd00::5", 8081), ("node-2.internal:80", "node-2.internal", 80),
    ])
    func upstreamAddressesAreParsed(text: String, host: String, port: Int) {
        #expect(HTTPUpstream(address: text) == HTTPUpstream(host: host, port: port))
    }

    @Test(arguments: ["https://10.0.0.5:8081", "10.0.0.5", "0.0.0.0:8081", "[::]:8081", "fd00::5:8081", "h:0", "h:x", "http://h:1/p"])
    func badUpstreamAddressesAreRefused(text: String) {
        #expect(HTTPUpstream(address: text) == nil)
    }
}
