@testable import EngineIO
import Foundation
import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import PushinatorHTTP
import PushinatorTestSupport
import Testing

/// Echoes every message; `close` and `abort` end the session from the server side. Records how sessions ended.
private final class EchoDelegate: EngineIOServerDelegate, EngineIOSessionDelegate, Sendable {
    let reasons = NIOLockedValueBox<[String]>([])

    func engineIO(_ server: EngineIOServer, didOpen session: EngineIOSession, request: Request, context: RequestContext) {
        session.delegate = self
    }

    func session(_ session: EngineIOSession, didReceive message: EngineIOMessage) {
        let connection: any EngineIOConnection = session
        switch message {
        case .text(let text) where String(buffer: text) == "close": connection.close(reason: .forcedClose)
        case .text(let text) where String(buffer: text) == "abort": connection.abort()
        case .text(let text) where String(buffer: text) == "burst":
            connection.send([.message(encodedText: ByteBuffer(string: "4one")), .binary(ByteBuffer(bytes: [9]))])
        default: connection.send(message)
        }
    }

    func session(_ session: EngineIOSession, didCloseWith reason: EngineIOCloseReason) {
        reasons.withLockedValue { $0.append(reason.text) }
    }
}

/// One Engine.IO server on a real socket, its echo delegate, and raw HTTP/WebSocket clients.
private struct Harness {
    let port: Int
    let engine: EngineIOServer
    let echo: EchoDelegate

    static func with(_ configuration: EngineIOConfiguration = .init(), _ body: (Harness) async throws -> Void) async throws {
        let engine = EngineIOServer(configuration: configuration, logger: TestServer.logger)
        let echo = EchoDelegate()
        engine.delegate = echo
        try await TestServer.with(engine) { server in
            try await body(Harness(port: server.port, engine: engine, echo: echo))
        }
    }

    /// One HTTP request on a new connection.
    func request(_ method: String = "GET", _ query: String, body: String = "", headers: String = "") async throws
        -> RawResponse
    {
        let client = try await RawClient.connect(port: port)
        try await client.send(
            "\(method) /engine.io/?\(query) HTTP/1.1\r\nHost: x\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        let response = try await client.readResponse()
        await client.close()
        return response
    }

    /// A polling handshake; returns the sid.
    func handshake(_ version: String = "4") async throws -> String {
        let response = try await request("GET", "EIO=\(version)&transport=polling")
        #expect(response.status == 200)
        return try sid(in: response.text)
    }

    func sid(in text: String) throws -> String {
        guard let start = text.range(of: #""sid":""#), let end = text[start.upperBound...].firstIndex(of: "\"") else {
            throw TestFailure("no sid in \(text)")
        }
        return String(text[start.upperBound..<end])
    }

    /// What the session's loop says of it: transport, whether it holds a GET, whether it has a probe.
    func inspect(_ sid: String) async throws -> (transport: String, holdingPoll: Bool, probing: Bool)? {
        guard let session = engine.session(id: sid) else { return nil }
        return try await session.eventLoop.submit { (session.transportName, session.isHoldingPoll, session.isProbing) }.get()
    }

    /// Waits until the session holds a GET (the barrier before a message that answers it).
    func waitForHeldPoll(_ sid: String) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while try await inspect(sid)?.holdingPoll != true {
            if ContinuousClock.now > deadline { throw TestFailure("the GET was not held") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Opens a WebSocket for `query`.
    func webSocket(_ query: String) async throws -> RawClient {
        let client = try await RawClient.connect(port: port)
        let response = try await client.upgrade(path: "/engine.io/?\(query)")
        #expect(response.status == 101)
        return client
    }
}

extension RawClient {
    fileprivate func sendText(_ text: String) async throws { try await sendFrame(opcode: 0x1, payload: Array(text.utf8)) }

    /// The next text or binary frame, as text (binary frames as `<bytes>`).
    fileprivate func nextMessage() async throws -> String {
        let frame = try await readFrame()
        switch frame.opcode {
        case 0x1: return frame.text
        case 0x2: return "<\(frame.payload.map(String.init).joined(separator: ","))>"
        case 0x8: return "close \(frame.closeCode.map(String.init) ?? "-")"
        default: return "opcode \(frame.opcode)"
        }
    }
}

@Suite("Engine.IO server over sockets")
struct EngineIOServerLiveTests {
    @Test func pollingSessionDeliversBothWaysAndEndsWithTheClientsClose() async throws {
        try await Harness.with { harness in
            let sid = try await harness.handshake()
            #expect(harness.engine.sessionCount == 1)
            #expect(try await harness.inspect(sid)?.transport == "polling")
            let posted = try await harness.request("POST", "EIO=4&transport=polling&sid=\(sid)", body: "4hello\u{1E}4burst")
            #expect(posted.status == 200 && posted.text == "ok")
            let polled = try await harness.request("GET", "EIO=4&transport=polling&sid=\(sid)")
            #expect(polled.text == "4hello\u{1E}4one\u{1E}bCQ==")
            // a held GET is answered by the next message
            async let held = harness.request("GET", "EIO=4&transport=polling&sid=\(sid)")
            try await harness.waitForHeldPoll(sid)
            _ = try await harness.request("POST", "EIO=4&transport=polling&sid=\(sid)", body: "4later")
            #expect(try await held.text == "4later")
            _ = try await harness.request("POST", "EIO=4&transport=polling&sid=\(sid)", body: "1")
            let gone = try await harness.request("GET", "EIO=4&transport=polling&sid=\(sid)")
            #expect(gone.status == 400 && gone.text.contains("Session ID unknown"))
            #expect(harness.echo.reasons.withLockedValue { $0 } == ["client close"])
        }
    }

    @Test func oversizedOrInvalidPostsEndTheSession() async throws {
        try await Harness.with(.init(maxPayload: 100)) { harness in
            let sid = try await harness.handshake()
            let big = try await harness.request("POST", "EIO=4&transport=polling&sid=\(sid)", body: "4" + String(repeating: "x", count: 200))
            #expect(big.status == 413)
            let other = try await harness.handshake()
            let invalid = try await harness.request("POST", "EIO=4&transport=polling&sid=\(other)", body: "9x")
            #expect(invalid.status == 400)
            #expect(harness.engine.sessionCount == 0)
        }
    }

    @Test func serverCloseAnswersTheHeldPoll() async throws {
        try await Harness.with { harness in
            let sid = try await harness.handshake()
            async let held = harness.request("GET", "EIO=4&transport=polling&sid=\(sid)")
            try await harness.waitForHeldPoll(sid)
            _ = try await harness.request("POST", "EIO=4&transport=polling&sid=\(sid)", body: "4close")
            #expect(try await held.text == "1")
            let aborted = try await harness.handshake()
            async let heldToo = harness.request("GET", "EIO=4&transport=polling&sid=\(aborted)")
            try await harness.waitForHeldPoll(aborted)
            _ = try await harness.request("POST", "EIO=4&transport=polling&sid=\(aborted)", body: "4abort")
            #expect(try await heldToo.status == 400)
        }
    }

    @Test func malformedRequestsGetTheReferenceErrors() async throws {
        try await Harness.with(.init(allowRequest: { request, _ in
            request.headers[.origin] == "https://evil.example" ? .refuse("Origin not allowed") : .allow
        })) { harness in
            #expect(try await harness.request("GET", "EIO=5&transport=polling").text.contains(#""code":5"#))
            #expect(try await harness.request("GET", "EIO=4&transport=carrier-pigeon").text.contains(#""code":0"#))
            #expect(try await harness.request("GET", "EIO=4&transport=websocket").status == 400)
            #expect(try await harness.request("POST", "EIO=4&transport=polling").text.contains(#""code":2"#))
            #expect(try await harness.request("GET", "EIO=4&transport=polling&sid=nope").text.contains(#""code":1"#))
            let sid = try await harness.handshake()
            #expect(try await harness.request("PUT", "EIO=4&transport=polling&sid=\(sid)").status == 400)
            let refused = try await harness.request("GET", "EIO=4&transport=polling", headers: "Origin: https://evil.example\r\n")
            #expect(refused.status == 403 && refused.text.contains("Origin not allowed"))
        }
    }

    @Test func webSocketSessionEchoesTextAndBinary() async throws {
        try await Harness.with(.init(pingInterval: .seconds(25), pingTimeout: .seconds(20))) { harness in
            let client = try await harness.webSocket("EIO=4&transport=websocket")
            let open = try await client.nextMessage()
            #expect(open.hasPrefix("0{") && open.contains(#""upgrades":[]"#))
            try await client.sendText("4hi")
            #expect(try await client.nextMessage() == "4hi")
            try await client.sendFrame(opcode: 0x2, payload: [1, 2, 3])
            #expect(try await client.nextMessage() == "<1,2,3>")
        }
    }

    @Test func webSocketSessionTimesOutWithoutPongs() async throws {
        try await Harness.with(.init(pingInterval: .seconds(1), pingTimeout: .milliseconds(300))) { harness in
            let client = try await harness.webSocket("EIO=4&transport=websocket")
            #expect(try await client.nextMessage().hasPrefix("0{"))
            // Intermittent under the full parallel suite: the pong deadline counts from when the ping was *due*, so a
            // ping timer that fires late on a busy loop leaves the client less than pingTimeout (300 ms here) to
            // answer, and the session can end with "ping timeout" before the second ping. An open product question
            // (see the session notes); the heartbeat sequence itself is covered without timing in
            // EngineIOSessionStateMachineTests.
            await withKnownIssue("a late ping timer can eat the 300 ms pong timeout on a busy machine", isIntermittent: true) { () async throws in
                #expect(try await client.nextMessage() == "2")
                try await client.sendText("3")
                #expect(try await client.nextMessage() == "2")
                // no pong this time
                #expect(try await client.nextMessage() == "1")
                #expect(try await client.nextMessage() == "close 1000")
            }
            try await waitUntil("the session ended") { harness.echo.reasons.withLockedValue { $0 } == ["ping timeout"] }
        }
    }

    @Test func invalidWebSocketPacketEndsTheSession() async throws {
        try await Harness.with { harness in
            let client = try await harness.webSocket("EIO=4&transport=websocket")
            _ = try await client.nextMessage()
            try await client.sendText("9nonsense")
            #expect(try await client.nextMessage() == "1")
            try await waitUntil("the session ended") { harness.echo.reasons.withLockedValue { $0 } == ["transport error"] }
        }
    }

    @Test func upgradeFromPollingToWebSocket() async throws {
        try await Harness.with { harness in
            let sid = try await harness.handshake()
            let query = "EIO=4&transport=polling&sid=\(sid)"
            _ = try await harness.request("POST", query, body: "4queued")
            let probe = try await harness.webSocket("EIO=4&transport=websocket&sid=\(sid)")
            try await probe.sendText("2probe")
            #expect(try await probe.nextMessage() == "3probe")
            // the paused client's GET gets a noop; what was queued follows on the WebSocket after `5`
            #expect(try await harness.request("GET", query).text == "6")
            try await probe.sendText("5")
            try await probe.sendText("4upgraded")
            #expect(try await probe.nextMessage() == "4queued")
            #expect(try await probe.nextMessage() == "4upgraded")
            #expect(try await harness.inspect(sid)?.transport == "websocket")
            #expect(try await harness.request("GET", query).status == 400)
            #expect(try await harness.request("POST", query, body: "4late").status == 400)
            // only one WebSocket per session
            let second = try await harness.webSocket("EIO=4&transport=websocket&sid=\(sid)")
            #expect(try await second.nextMessage() == "close 1008")
            harness.engine.closeAllSessions()
            #expect(try await probe.nextMessage() == "1")
            #expect(try await probe.nextMessage() == "close 1001")
        }
    }

    @Test func brokenProbeKeepsThePollingSession() async throws {
        try await Harness.with { harness in
            let sid = try await harness.handshake()
            let probe = try await harness.webSocket("EIO=4&transport=websocket&sid=\(sid)")
            try await probe.sendText("4not-a-probe")
            #expect(try await probe.nextMessage() == "close 1002")
            let other = try await harness.webSocket("EIO=4&transport=websocket&sid=\(sid)")
            try await other.sendText("2probe")
            #expect(try await other.nextMessage() == "3probe")
            await other.close()
            let deadline = ContinuousClock.now + .seconds(5)
            while try await harness.inspect(sid)?.probing == true, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(try await harness.inspect(sid)?.probing == false)
            _ = try await harness.request("POST", "EIO=4&transport=polling&sid=\(sid)", body: "4still")
            #expect(try await harness.request("GET", "EIO=4&transport=polling&sid=\(sid)").text == "4still")
        }
    }

    @Test func engineIOv3PollingSession() async throws {
        try await Harness.with(.init(allowEIO3: true)) { harness in
            let open = try await harness.request("GET", "EIO=3&transport=polling&b64=1")
            let sid = try harness.sid(in: open.text)
            let query = "EIO=3&transport=polling&b64=1&sid=\(sid)"
            _ = try await harness.request("POST", query, body: "2:2x6:4burst")
            #expect(try await harness.request("GET", query).text == "2:3x4:4one6:b4CQ==")
            let client = try await harness.webSocket("EIO=3&transport=websocket")
            _ = try await client.nextMessage()
            try await client.sendText("4burst")
            #expect(try await client.nextMessage() == "4one")
            #expect(try await client.nextMessage() == "<4,9>")
            try await client.sendText("4abort")
            _ = try await client.readUntilClose()
        }
    }
}
