import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing

@testable import PushinatorHTTP

/// The HTTP/1.1 connection's decisions, without a channel: one test per transition.
@Suite("HTTP connection state machine")
struct HTTPConnectionStateMachineTests {
    typealias Machine = HTTPConnectionStateMachine

    static func make(
        maxBody: Int = 1024,
        maxHeader: Int = 512,
        budget: MemoryBudget = MemoryBudget(limit: nil),
        maxPipelined: Int = 16,
        overlap: HTTPPipelineOverlap = .safeMethods,
        isSecure: Bool = false
    ) -> Machine {
        let limits = Machine.Limits(
            maxRequestBodySize: maxBody,
            maxHeaderSize: maxHeader,
            maxChunkFramingBytes: 64,
            maxQueuedResponseBytes: 100,
            maxPipelinedRequests: maxPipelined,
            pipelineOverlap: overlap,
            memoryBudget: budget
        )
        return Machine(limits: limits, isSecure: isSecure)
    }

    static func head(
        _ method: HTTPMethod = .GET,
        _ uri: String = "/x",
        version: HTTPVersion = .http1_1,
        headers: [(String, String)] = [("Host", "x")]
    ) -> HTTPServerRequestPart {
        .head(HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers)))
    }

    static let upgradeHeaders = [
        ("Host", "x"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    ]

    /// Feeds a complete GET and returns the dispatched request's path.
    static func dispatchGet(_ machine: inout Machine, headers: [(String, String)] = [("Host", "x")]) -> String? {
        _ = machine.received(head(headers: headers))
        guard case .dispatch(let request, _) = machine.received(.end(nil)) else { return nil }
        return String(request.path)
    }

    static func refusal(_ action: Machine.InboundAction) -> Machine.Refusal? {
        if case .refuse(let refusal) = action { return refusal }
        return nil
    }

    static func keepAlive(_ action: Machine.ResponseAction) -> Bool? {
        if case .write(_, let keepAlive) = action { return keepAlive }
        return nil
    }

    // MARK: Requests

    @Test func getIsAcceptedThenDispatched() {
        var machine = Self.make()
        guard case .headAccepted(chunked: false, sendContinue: false) = machine.received(Self.head()) else {
            Issue.record("head not accepted")
            return
        }
        guard case .dispatch(let request, _) = machine.received(.end(nil)) else {
            Issue.record("not dispatched")
            return
        }
        #expect(request.path == "/x")
        #expect(request.head.authority == "x")
        #expect(machine.isResponding)
    }

    @Test func bodyIsCollectedAndDispatched() {
        var machine = Self.make()
        _ = machine.received(Self.head(.POST, headers: [("Host", "x"), ("Content-Length", "6")]))
        guard case .bodyAccepted(count: 3) = machine.received(.body(ByteBuffer(string: "abc"))) else {
            Issue.record("body not accepted")
            return
        }
        _ = machine.received(.body(ByteBuffer(string: "def")))
        guard case .dispatch(let request, _) = machine.received(.end(nil)) else {
            Issue.record("not dispatched")
            return
        }
        #expect(String(buffer: request.body.buffer) == "abcdef")
    }

    @Test func expectContinueAsksForTheInterimResponse() {
        var machine = Self.make()
        let action = machine.received(Self.head(.POST, headers: [("Host", "x"), ("Expect", "100-continue")]))
        guard case .headAccepted(chunked: false, sendContinue: true) = action else {
            Issue.record("no 100 Continue: \(action)")
            return
        }
    }

    @Test func chunkedBodyIsReportedToTheTimer() {
        var machine = Self.make()
        let action = machine.received(Self.head(.POST, headers: [("Host", "x"), ("Transfer-Encoding", "chunked")]))
        guard case .headAccepted(chunked: true, sendContinue: false) = action else {
            Issue.record("not chunked: \(action)")
            return
        }
    }

    // MARK: Limits

    @Test func declaredBodyOverTheLimitIs413AndTheRestIsIgnored() {
        var machine = Self.make(maxBody: 10)
        let action = machine.received(Self.head(.POST, headers: [("Host", "x"), ("Content-Length", "11")]))
        #expect(Self.refusal(action)?.status == .contentTooLarge)
        guard case .none = machine.received(.body(ByteBuffer(string: "0123456789a"))) else {
            Issue.record("body of a refused request was taken")
            return
        }
        guard case .none = machine.received(.end(nil)) else {
            Issue.record("refused request was dispatched")
            return
        }
        guard case .closing = machine.state else {
            Issue.record("not closing after a refusal: \(machine.state)")
            return
        }
    }

    @Test func chunkedBodyGrowingOverTheLimitIs413() {
        var machine = Self.make(maxBody: 5)
        _ = machine.received(Self.head(.POST, headers: [("Host", "x"), ("Transfer-Encoding", "chunked")]))
        _ = machine.received(.body(ByteBuffer(string: "abc")))
        #expect(Self.refusal(machine.received(.body(ByteBuffer(string: "def"))))?.status == .contentTooLarge)
    }

    @Test func headerOverTheLimitIs431() {
        var machine = Self.make(maxHeader: 64)
        let action = machine.received(Self.head(headers: [("Host", "x"), ("X-Big", String(repeating: "a", count: 100))]))
        #expect(Self.refusal(action)?.status == .requestHeaderFieldsTooLarge)
    }

    @Test func unknownTransferCodingIs501AndChunkedNotLastIs400() {
        var machine = Self.make()
        let gzip = machine.received(Self.head(.POST, headers: [("Host", "x"), ("Transfer-Encoding", "gzip, chunked")]))
        #expect(Self.refusal(gzip)?.status == .notImplemented)
        var other = Self.make()
        let notLast = other.received(Self.head(.POST, headers: [("Host", "x"), ("Transfer-Encoding", "chunked, gzip")]))
        #expect(Self.refusal(notLast)?.status == .badRequest)
        #expect(Machine.unsupportedTransferCoding(" Chunked ") == nil)
    }

    @Test func parserErrorIsAnsweredThenClosed() {
        var machine = Self.make()
        guard case .answerAndClose(let refusal) = machine.parserFailed(HTTPParserError.invalidVersion) else {
            Issue.record("not answered")
            return
        }
        #expect(refusal.status == .badRequest)
        #expect(refusal.message.hasPrefix("Malformed HTTP request"))
        #expect(machine.parserFailed(HTTPParserError.invalidVersion) == .none)  // closing: nothing more
        var overflow = Self.make()
        #expect(overflow.parserFailed(HTTPParserError.headerOverflow) == .answerAndClose(.init(status: .requestHeaderFieldsTooLarge, message: "Request header fields too large")))
        var framing = Self.make()
        guard case .answerAndClose(let chunk) = framing.parserFailed(RequestTimer.ChunkFramingTooLarge()) else {
            Issue.record("chunk framing not answered")
            return
        }
        #expect(chunk.message.contains("64 bytes"))
    }

    @Test func parserErrorAfterARefusalOnlyCloses() {
        var machine = Self.make(maxBody: 1)
        _ = machine.received(Self.head(.POST, headers: [("Host", "x"), ("Content-Length", "5")]))
        #expect(machine.parserFailed(HTTPParserError.invalidChunkSize) == .close)
    }

    // MARK: Pipelining

    @Test func pipelinedRequestWaitsForThePendingResponseWhenTheLimitIsOne() {
        var machine = Self.make(maxPipelined: 1)
        #expect(Self.dispatchGet(&machine) == "/x")
        guard case .none = machine.received(Self.head(.GET, "/y")) else {
            Issue.record("second request handled while the first is pending")
            return
        }
        _ = machine.received(.end(nil))
        #expect(machine.queuedCount == 2)
        #expect(machine.readRequested() == false)  // reads wait too
        #expect(Self.keepAlive(machine.responseReady(Response(status: .ok))) == true)
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: false, idle: true))  // in the burst
        #expect(machine.startDraining() == true)
        #expect(machine.startDraining() == false)  // a nested drain leaves it to the outer loop
        guard case .inbound(.headAccepted) = machine.nextQueued() else {
            Issue.record("queued head not handed out")
            return
        }
        guard case .inbound(.dispatch(let request, _)) = machine.nextQueued() else {
            Issue.record("queued request not dispatched")
            return
        }
        #expect(request.path == "/y")
        guard case .caughtUp(cancelWriteTimer: false, read: false) = machine.nextQueued() else {
            Issue.record("read released while the limit is reached")
            return
        }
        #expect(machine.stopDraining() == false)
        _ = machine.responseReady(Response(status: .ok))
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: false, idle: true))
        guard case .caughtUp(cancelWriteTimer: false, read: true) = machine.nextQueued() else {
            Issue.record("held read not released")
            return
        }
        #expect(machine.readComplete() == true)  // the burst's responses leave in one flush
        #expect(machine.readComplete() == false)
    }

    @Test func responseOutsideAReadBurstIsFlushedAtOnce() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine)
        #expect(machine.readComplete() == false)  // the burst ends while the response is produced
        _ = machine.responseReady(Response(status: .ok))
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: true, idle: true))
    }

    @Test func parserErrorBehindAPendingResponseIsAnsweredAfterIt() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine)
        #expect(machine.parserFailed(HTTPParserError.invalidMethod) == .none)
        _ = machine.responseReady(Response(status: .ok))
        _ = machine.responseEnded(keepAlive: true)
        guard case .parserError(.answerAndClose(let refusal)) = machine.nextQueued() else {
            Issue.record("queued error not answered")
            return
        }
        #expect(refusal.status == .badRequest)
    }

    // MARK: Keep-alive

    @Test func http10WithoutKeepAliveClosesAfterTheResponse() {
        var machine = Self.make()
        _ = machine.received(Self.head(version: .http1_0))
        _ = machine.received(.end(nil))
        #expect(Self.keepAlive(machine.responseReady(Response(status: .ok))) == false)
        #expect(machine.responseEnded(keepAlive: false) == .close)
    }

    @Test func responseAskingToCloseEndsTheConnection() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine)
        #expect(Self.keepAlive(machine.responseReady(Response(status: .ok, headers: [.connection: "close"]))) == false)
    }

    @Test func streamedResponseToHttp10EndsWithTheClose() {
        var machine = Self.make()
        _ = machine.received(Self.head(version: .http1_0, headers: [("Host", "x"), ("Connection", "keep-alive")]))
        _ = machine.received(.end(nil))
        let streamed = Response(status: .ok, body: .stream { _ in })
        #expect(Self.keepAlive(machine.responseReady(streamed)) == false)
    }

    @Test func failedStreamCloses() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine)
        #expect(machine.streamFailed() == true)
        #expect(machine.streamFailed() == false)
        #expect(!machine.isResponding)
    }

    // MARK: Read gating on output and the write timeout

    @Test func clientBehindHoldsRequestsAndReadsUntilItDrains() {
        var machine = Self.make()
        #expect(machine.writabilityChanged(false) == .startWriteTimer)
        #expect(machine.writabilityChanged(false) == .none)  // one timer
        guard case .none = machine.received(Self.head()) else {
            Issue.record("request answered while the client is behind")
            return
        }
        #expect(machine.readRequested() == false)
        #expect(machine.writabilityChanged(true) == .drain)
        #expect(machine.startDraining() == true)
        guard case .inbound(.headAccepted) = machine.nextQueued() else {
            Issue.record("held request not handed out")
            return
        }
        guard case .caughtUp(cancelWriteTimer: true, read: true) = machine.nextQueued() else {
            Issue.record("timer not cancelled or read not released")
            return
        }
        _ = machine.stopDraining()
        #expect(machine.writeTimerFired() == false)  // cancelled
    }

    @Test func clientStillBehindAtTheWriteTimeoutIsClosed() {
        var machine = Self.make()
        _ = machine.writabilityChanged(false)
        _ = machine.received(Self.head())
        #expect(machine.writeTimerFired() == true)
        guard case .closing = machine.state else {
            Issue.record("not closing")
            return
        }
        #expect(machine.queuedCount == 0)
        #expect(machine.readRequested() == true)  // a closing connection reads and drops, so the close is not a reset
    }

    @Test func writableButStillHoldingRequestsAtTheTimeoutIsClosed() {
        var machine = Self.make(maxPipelined: 1)
        _ = Self.dispatchGet(&machine)
        _ = machine.writabilityChanged(false)
        _ = machine.received(Self.head(.GET, "/y"))
        #expect(machine.writabilityChanged(true) == .drain)
        #expect(machine.startDraining() == true)
        guard case .wait = machine.nextQueued() else {
            Issue.record("drained while a response is pending")
            return
        }
        _ = machine.stopDraining()
        #expect(machine.writeTimerFired() == true)
    }

    // MARK: Graceful shutdown

    @Test func quiesceClosesAnIdleConnectionAtOnce() {
        var machine = Self.make()
        #expect(machine.quiesce() == true)
    }

    @Test func quiesceMakesTheCurrentResponseTheLast() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine)
        #expect(machine.quiesce() == false)
        #expect(Self.keepAlive(machine.responseReady(Response(status: .ok))) == false)
        #expect(machine.responseEnded(keepAlive: true) == .close)  // a stream begun before the shutdown ends too
    }

    // MARK: Upgrades

    @Test func webSocketAcceptanceOfAValidHandshakeUpgrades() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine, headers: Self.upgradeHeaders)
        guard case .upgrade(let head) = machine.responseReady(.webSocket { _ in }) else {
            Issue.record("not upgraded")
            return
        }
        #expect(head.uri == "/x")
        #expect(machine.upgradeAccepted() == true)
        guard case .upgraded = machine.state else {
            Issue.record("not upgraded: \(machine.state)")
            return
        }
        guard case .none = machine.received(Self.head()) else {
            Issue.record("HTTP handled after the upgrade")
            return
        }
    }

    @Test func invalidWebSocketKeyIs400() {
        var machine = Self.make()
        var headers = Self.upgradeHeaders
        headers[3] = ("Sec-WebSocket-Key", "x")
        _ = Self.dispatchGet(&machine, headers: headers)
        guard case .refuse(let refusal, _, keepAlive: false) = machine.responseReady(.webSocket { _ in }) else {
            Issue.record("invalid key accepted")
            return
        }
        #expect(refusal.message.contains("Sec-WebSocket-Key"))
    }

    @Test func webSocketRouteWithoutAnUpgradeIs400AndKeepsTheConnection() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine)
        guard case .refuse(let refusal, _, keepAlive: true) = machine.responseReady(.webSocket { _ in }) else {
            Issue.record("plain request upgraded")
            return
        }
        #expect(refusal.status == .badRequest)
    }

    @Test func refusedHandshakeIs400AndAnUpgradeAfterTheCloseIsDropped() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine, headers: Self.upgradeHeaders)
        guard case .refuse(_, _, keepAlive: false) = machine.upgradeFailed() else {
            Issue.record("refused handshake not answered")
            return
        }
        machine.closed()
        #expect(machine.upgradeAccepted() == false)
        guard case .none = machine.responseReady(Response(status: .ok)) else {
            Issue.record("answered on a closed connection")
            return
        }
    }

    @Test func upgradeRequestIsTheLastOfTheConnection() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine, headers: Self.upgradeHeaders)
        #expect(Self.keepAlive(machine.responseReady(Response(status: .notFound))) == false)
    }

    @Test func handlerRemovalReleasesTheHeldReadAndFlush() {
        var machine = Self.make()
        _ = Self.dispatchGet(&machine, headers: Self.upgradeHeaders)
        #expect(machine.readRequested() == false)
        let removed = machine.removed()
        #expect(removed.read)
        #expect(!removed.flush)
    }

    @Test func webSocketKeyMustBeBase64Of16Bytes() {
        #expect(Machine.isValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="))
        #expect(!Machine.isValidWebSocketKey("x"))
        #expect(!Machine.isValidWebSocketKey("dGhlIHNhbXBsZSBub25jZR=="))
    }

    // MARK: Memory budget

    @Test func bodyIsChargedUntilTheResponderIsDone() {
        let budget = MemoryBudget(limit: nil)
        var machine = Self.make(budget: budget)
        _ = machine.received(Self.head(.POST, headers: [("Host", "x"), ("Content-Length", "6")]))
        _ = machine.received(.body(ByteBuffer(string: "abcdef")))
        #expect(budget.reserved == 6)
        _ = machine.received(.end(nil))
        _ = machine.responseReady(Response(status: .ok))
        #expect(budget.reserved == 0)
    }

    @Test func bodyOverTheBudgetIs503() {
        let budget = MemoryBudget(limit: 4)
        var machine = Self.make(budget: budget)
        _ = machine.received(Self.head(.POST, headers: [("Host", "x"), ("Content-Length", "6")]))
        #expect(Self.refusal(machine.received(.body(ByteBuffer(string: "abcdef"))))?.status == .serviceUnavailable)
        #expect(budget.reserved == 0)
    }

    @Test func clientBehindIsChargedAndClosedWhenTheBudgetRefuses() {
        let budget = MemoryBudget(limit: 150)
        var machine = Self.make(budget: budget)
        #expect(machine.writabilityChanged(false) == .startWriteTimer)
        #expect(budget.reserved == 100)
        var other = Self.make(budget: budget)
        #expect(other.writabilityChanged(false) == .close)
        _ = machine.writabilityChanged(true)
        #expect(budget.reserved == 0)
        _ = machine.writabilityChanged(false)
        machine.closed()
        #expect(budget.reserved == 0)
    }
}

extension HTTPConnectionStateMachine {
    /// The oldest request in flight produced `response`.
    mutating func responseReady(_ response: Response) -> ResponseAction {
        responseReady(response, for: currentID ?? -1)
    }
}
