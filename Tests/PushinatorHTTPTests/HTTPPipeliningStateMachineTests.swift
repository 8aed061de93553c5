import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing

@testable import PushinatorHTTP

/// Pipelined requests in the HTTP/1.1 connection's state machine: dispatched while earlier answers are pending, up
/// to the in-flight limit, answered strictly in order; the requests that cannot overlap others wait.
@Suite("HTTP connection state machine: pipelining")
struct HTTPPipeliningStateMachineTests {
    typealias Machine = HTTPConnectionStateMachine
    typealias Tests = HTTPConnectionStateMachineTests

    /// Feeds a complete GET of `uri`; returns the dispatched request's id, `nil` when it was not dispatched.
    static func get(
        _ machine: inout Machine,
        _ uri: String,
        headers: [(String, String)] = [("Host", "x")],
        version: HTTPVersion = .http1_1
    ) -> Machine.RequestID? {
        _ = machine.received(Tests.head(.GET, uri, version: version, headers: headers))
        guard case .dispatch(let request, let id) = machine.received(.end(nil)) else { return nil }
        #expect(String(request.path) == uri)
        return id
    }

    /// Every step of a drain, until it stops.
    static func drain(_ machine: inout Machine) -> [Machine.DrainStep] {
        var steps: [Machine.DrainStep] = []
        #expect(machine.startDraining() == true)
        for _ in 0..<100 {
            let step = machine.nextQueued()
            steps.append(step)
            switch step {
            case .wait, .caughtUp, .respond:  // the caller takes a held answer itself
                _ = machine.stopDraining()
                return steps
            default: continue
            }
        }
        Issue.record("drain did not stop")
        return steps
    }

    static func body(_ response: Response) -> String { String(buffer: response.body.buffer ?? ByteBuffer()) }

    @Test func pipelinedRequestsAreDispatchedWhileAnAnswerIsPending() throws {
        var machine = Tests.make()
        let first = try #require(Self.get(&machine, "/a"))
        let second = try #require(Self.get(&machine, "/b"))
        let third = try #require(Self.get(&machine, "/c"))
        #expect([first, second, third] == [first, first + 1, first + 2])
        #expect(machine.inFlightCount == 3)
        #expect(machine.queuedCount == 0)
        #expect(machine.readRequested() == true)  // room for more
    }

    @Test func answersReadyEarlyAreHeldAndWrittenInOrder() throws {
        var machine = Tests.make()
        let ids = try (0..<3).map { try #require(Self.get(&machine, "/\($0)")) }
        _ = machine.readComplete()
        // The handlers finish in reverse order: the later answers wait for the first.
        guard case .none = machine.responseReady(.text("2"), for: ids[2]) else {
            Issue.record("third answer written before the first")
            return
        }
        guard case .none = machine.responseReady(.text("1"), for: ids[1]) else {
            Issue.record("second answer written before the first")
            return
        }
        #expect(Tests.keepAlive(machine.responseReady(.text("0"), for: ids[0])) == true)
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: true, idle: false))
        #expect(machine.startDraining() == true)
        guard case .respond = machine.nextQueued(), case (.write(_, keepAlive: true), let second)? = machine.takeHeldAnswer()
        else {
            Issue.record("second answer not handed out in its turn")
            return
        }
        let again = machine.takeHeldAnswer()
        #expect(again == nil)  // taken once
        #expect(Self.body(second) == "1")
        #expect(machine.isResponding)
        // Written inside the drain: flushed once at its end.
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: false, idle: false))
        guard case .respond = machine.nextQueued(), case (.write, let third)? = machine.takeHeldAnswer() else {
            Issue.record("third answer not handed out in its turn")
            return
        }
        #expect(Self.body(third) == "2")
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: false, idle: true))
        guard case .caughtUp = machine.nextQueued() else {
            Issue.record("drain did not catch up")
            return
        }
        #expect(machine.stopDraining() == true)
        #expect(machine.inFlightCount == 0)
    }

    @Test func anAnswerForARequestNoLongerInFlightIsDropped() throws {
        var machine = Tests.make()
        let id = try #require(Self.get(&machine, "/a"))
        guard case .none = machine.responseReady(.text("x"), for: id + 5) else {
            Issue.record("answer for an unknown request written")
            return
        }
        #expect(Tests.keepAlive(machine.responseReady(.text("a"), for: id)) == true)
        guard case .none = machine.responseReady(.text("again"), for: id) else {
            Issue.record("second answer for one request written")
            return
        }
    }

    @Test func theLimitStopsReadsAndQueuesRequestsUntilAnAnswerIsWritten() throws {
        var machine = Tests.make(maxPipelined: 2)
        let first = try #require(Self.get(&machine, "/a"))
        #expect(machine.readRequested() == true)
        _ = try #require(Self.get(&machine, "/b"))
        #expect(machine.readRequested() == false)  // at the limit: back-pressure
        guard case .none = machine.received(Tests.head(.GET, "/c")) else {  // already read: waits
            Issue.record("request dispatched past the limit")
            return
        }
        _ = machine.received(.end(nil))
        #expect(machine.queuedCount == 2)
        _ = machine.readComplete()
        _ = machine.responseReady(.text("a"), for: first)
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: true, idle: false))
        let steps = Self.drain(&machine)
        guard steps.count == 3, case .inbound(.headAccepted) = steps[0],
            case .inbound(.dispatch(let request, _)) = steps[1],
            case .caughtUp(cancelWriteTimer: false, read: false) = steps[2]
        else {
            Issue.record("queued request not dispatched in its turn: \(steps)")
            return
        }
        #expect(request.path == "/c")
        #expect(machine.inFlightCount == 2)
        // Answers written: the held read resumes.
        _ = machine.responseReady(.text("b"), for: first + 1)
        _ = machine.responseEnded(keepAlive: true)
        guard case .caughtUp(cancelWriteTimer: false, read: true) = Self.drain(&machine).last else {
            Issue.record("held read not released below the limit")
            return
        }
    }

    @Test func anUpgradeWaitsForTheAnswersBeforeItAndHoldsWhatFollows() throws {
        var machine = Tests.make()
        let first = try #require(Self.get(&machine, "/a"))
        guard case .none = machine.received(Tests.head(.GET, "/ws", headers: Tests.upgradeHeaders)) else {
            Issue.record("upgrade dispatched behind a pending answer")
            return
        }
        _ = machine.received(.end(nil))
        #expect(machine.readRequested() == false)
        _ = machine.readComplete()
        _ = machine.responseReady(.text("a"), for: first)
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: true, idle: true))
        let steps = Self.drain(&machine)
        guard steps.count == 3, case .inbound(.dispatch(let request, let id)) = steps[1] else {
            Issue.record("upgrade not dispatched once alone: \(steps)")
            return
        }
        #expect(request.path == "/ws")
        guard case .caughtUp(_, read: false) = steps[2] else {
            Issue.record("reads resumed while the upgrade is handled")
            return
        }
        guard case .upgrade = machine.responseReady(.webSocket { _ in }, for: id) else {
            Issue.record("not upgraded")
            return
        }
        #expect(machine.upgradeAccepted() == true)
        #expect(machine.removed().read == true)  // the held read goes to the WebSocket pipeline
    }

    @Test func nothingIsDispatchedBehindAnExclusiveRequest() throws {
        var machine = Tests.make()
        let first = try #require(Self.get(&machine, "/a", headers: [("Host", "x"), ("Expect", "100-continue")]))
        #expect(machine.readRequested() == false)
        guard case .none = machine.received(Tests.head(.GET, "/b")) else {
            Issue.record("request dispatched behind an exclusive one")
            return
        }
        _ = machine.received(.end(nil))
        _ = machine.readComplete()
        _ = machine.responseReady(.text("a"), for: first)
        _ = machine.responseEnded(keepAlive: true)
        guard case .inbound(.dispatch(let request, _)) = Self.drain(&machine)[1] else {
            Issue.record("request behind the exclusive one not dispatched after it")
            return
        }
        #expect(request.path == "/b")
    }

    @Test func expectContinueBehindAPendingAnswerWaitsForIt() throws {
        var machine = Tests.make()
        let first = try #require(Self.get(&machine, "/a"))
        let head = Tests.head(.POST, "/p", headers: [("Host", "x"), ("Expect", "100-continue"), ("Content-Length", "1")])
        guard case .none = machine.received(head) else {  // a 100 Continue now would precede the first answer
            Issue.record("interim response decided before the pending answer")
            return
        }
        _ = machine.readComplete()
        _ = machine.responseReady(.text("a"), for: first)
        _ = machine.responseEnded(keepAlive: true)
        guard case .inbound(.headAccepted(chunked: false, sendContinue: true)) = Self.drain(&machine).first else {
            Issue.record("100 Continue not sent in its turn")
            return
        }
    }

    @Test func connectionCloseInTheMiddleIsAnsweredLastAndNothingAfterIt() throws {
        var machine = Tests.make()
        let first = try #require(Self.get(&machine, "/a"))
        _ = machine.received(Tests.head(.GET, "/close", headers: [("Host", "x"), ("Connection", "close")]))
        _ = machine.received(.end(nil))
        _ = machine.received(Tests.head(.GET, "/after"))
        _ = machine.received(.end(nil))
        #expect(machine.queuedCount == 4)
        _ = machine.readComplete()
        _ = machine.responseReady(.text("a"), for: first)
        _ = machine.responseEnded(keepAlive: true)
        let steps = Self.drain(&machine)
        guard steps.count == 3, case .inbound(.dispatch(let request, let id)) = steps[1], case .wait = steps[2] else {
            Issue.record("close request not dispatched alone: \(steps)")
            return
        }
        #expect(request.path == "/close")
        #expect(Tests.keepAlive(machine.responseReady(.text("bye"), for: id)) == false)
        #expect(machine.responseEnded(keepAlive: false) == .close)
        #expect(machine.queuedCount == 0)  // the request after it is never answered
    }

    @Test func aRefusalInTheMiddleIsAnsweredInItsTurnThenCloses() throws {
        var machine = Tests.make(maxBody: 4, overlap: .all)  // the POST starts behind the GET, and is refused
        let first = try #require(Self.get(&machine, "/a"))
        let tooLarge = Tests.head(.POST, "/big", headers: [("Host", "x"), ("Content-Length", "10")])
        guard case .none = machine.received(tooLarge) else {  // a 413 now would precede the first answer
            Issue.record("refusal written before the pending answer")
            return
        }
        _ = machine.received(.body(ByteBuffer(string: "0123456789")))
        _ = machine.received(.end(nil))
        guard case .none = machine.received(Tests.head(.GET, "/after")) else {
            Issue.record("request after a refusal accepted")
            return
        }
        #expect(machine.readRequested() == true)  // reading and dropping until the close
        _ = machine.readComplete()
        _ = machine.responseReady(.text("a"), for: first)
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: true, idle: false))
        let steps = Self.drain(&machine)
        guard case .inbound(.refuse(let refusal)) = steps.first else {
            Issue.record("refusal not answered in its turn: \(steps)")
            return
        }
        #expect(refusal.status == .contentTooLarge)
        #expect(machine.inFlightCount == 0)
    }

    @Test func aParserErrorBehindPendingAnswersWaitsForAllOfThem() throws {
        var machine = Tests.make()
        let first = try #require(Self.get(&machine, "/a"))
        let second = try #require(Self.get(&machine, "/b"))
        #expect(machine.parserFailed(HTTPParserError.invalidMethod) == .none)
        _ = machine.readComplete()
        _ = machine.responseReady(.text("a"), for: first)
        _ = machine.responseEnded(keepAlive: true)
        guard case .wait = Self.drain(&machine).last else {
            Issue.record("error answered before the second answer")
            return
        }
        _ = machine.responseReady(.text("b"), for: second)
        _ = machine.responseEnded(keepAlive: true)
        guard case .parserError(.answerAndClose(let refusal)) = Self.drain(&machine).first else {
            Issue.record("error not answered after the answers before it")
            return
        }
        #expect(refusal.status == .badRequest)
    }

    @Test func quiesceFinishesTheRequestsInFlightDispatchesNothingNewThenCloses() throws {
        var machine = Tests.make()
        let first = try #require(Self.get(&machine, "/a"))
        let second = try #require(Self.get(&machine, "/b"))
        #expect(machine.quiesce() == false)
        guard case .none = machine.received(Tests.head(.GET, "/new")) else {
            Issue.record("request dispatched after the quiesce")
            return
        }
        _ = machine.readComplete()
        _ = machine.responseReady(.text("b"), for: second)
        #expect(Tests.keepAlive(machine.responseReady(.text("a"), for: first)) == true)  // not the last
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: true, idle: false))
        guard case .respond = Self.drain(&machine).first, case (.write(_, keepAlive: false), _)? = machine.takeHeldAnswer()
        else {
            Issue.record("last answer in flight does not close")
            return
        }
        #expect(machine.responseEnded(keepAlive: false) == .close)
    }

    @Test func aClientClosingWithAnswersPendingDropsThem() throws {
        let budget = MemoryBudget(limit: nil)
        var machine = Tests.make(budget: budget, overlap: .all)
        let first = try #require(Self.get(&machine, "/a"))
        _ = machine.received(Tests.head(.POST, "/p", headers: [("Host", "x"), ("Content-Length", "3")]))
        _ = machine.received(.body(ByteBuffer(string: "abc")))
        guard case .dispatch(_, let second) = machine.received(.end(nil)) else {
            Issue.record("body request not dispatched behind the pending answer")
            return
        }
        #expect(budget.reserved == 3)
        machine.closed()
        #expect(budget.reserved == 0)
        guard case .none = machine.responseReady(.text("b"), for: second),
            case .none = machine.responseReady(.text("a"), for: first)
        else {
            Issue.record("answer written after the close")
            return
        }
        #expect(machine.inFlightCount == 0)
        #expect(!machine.isResponding)
    }

    @Test func eachBodyIsReleasedWhenItsResponderIsDone() throws {
        let budget = MemoryBudget(limit: nil)
        var machine = Tests.make(budget: budget, overlap: .all)
        var ids: [Machine.RequestID] = []
        for text in ["abc", "defgh"] {
            _ = machine.received(Tests.head(.POST, "/p", headers: [("Host", "x"), ("Content-Length", "\(text.count)")]))
            _ = machine.received(.body(ByteBuffer(string: text)))
            guard case .dispatch(let request, let id) = machine.received(.end(nil)) else {
                Issue.record("not dispatched")
                return
            }
            #expect(String(buffer: request.body.buffer) == text)
            ids.append(id)
        }
        #expect(budget.reserved == 8)
        _ = machine.responseReady(.text("2"), for: ids[1])  // held, but its responder is done with the body
        #expect(budget.reserved == 3)
        _ = machine.responseReady(.text("1"), for: ids[0])
        #expect(budget.reserved == 0)
    }

    @Test func theRequestTimerWaitsUntilNothingIsInFlightOrBeingReceived() throws {
        var machine = Tests.make(overlap: .all)
        let first = try #require(Self.get(&machine, "/a"))
        let second = try #require(Self.get(&machine, "/b"))
        _ = machine.received(Tests.head(.POST, "/p", headers: [("Host", "x"), ("Content-Length", "3")]))
        _ = machine.readComplete()
        _ = machine.responseReady(.text("a"), for: first)
        // Still in flight: no idle deadline while a responder runs.
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: true, idle: false))
        _ = machine.responseReady(.text("b"), for: second)
        // A body is being received: its own deadline stays.
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: true, idle: false))
        _ = machine.received(.body(ByteBuffer(string: "abc")))
        guard case .dispatch(_, let third) = machine.received(.end(nil)) else {
            Issue.record("not dispatched")
            return
        }
        _ = machine.readComplete()
        _ = machine.responseReady(.text("p"), for: third)
        #expect(machine.responseEnded(keepAlive: true) == .keepAlive(flushNow: true, idle: true))
    }

    @Test func aClientBehindStopsDispatchAndTheWriteTimerClosesIt() throws {
        var machine = Tests.make()
        let first = try #require(Self.get(&machine, "/a"))
        #expect(machine.writabilityChanged(false) == .startWriteTimer)
        guard case .none = machine.received(Tests.head(.GET, "/b")) else {
            Issue.record("request dispatched while the client is behind")
            return
        }
        // Answers still go out in order while it is behind.
        #expect(Tests.keepAlive(machine.responseReady(.text("a"), for: first)) == true)
        #expect(machine.writeTimerFired() == true)
        #expect(machine.inFlightCount == 0)
        #expect(machine.queuedCount == 0)
    }

    @Test func exclusiveRequestsAreRecognized() {
        func head(
            _ method: HTTPMethod = .GET,
            _ version: HTTPVersion = .http1_1,
            _ headers: [(String, String)] = [],
            uri: String = "/"
        ) -> HTTPRequestHead {
            HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders([("Host", "x")] + headers))
        }
        let safe = Tests.make()  // the default: safe methods only (RFC 9112 9.3.2)
        let all = Tests.make(overlap: .all)
        let paths = Tests.make(overlap: .safeMethods(andPaths: ["/user/send", "/broadcast"]))
        for machine in [safe, all, paths] {
            #expect(!machine.isExclusive(head()))
            #expect(!machine.isExclusive(head(.HEAD)))
            #expect(machine.isExclusive(head(.CONNECT)))
            #expect(machine.isExclusive(head(.GET, .http1_1, [("Connection", "close")])))
            #expect(machine.isExclusive(head(.GET, .http1_0)))
            #expect(!machine.isExclusive(head(.GET, .http1_0, [("Connection", "keep-alive")])))
            #expect(machine.isExclusive(head(.GET, .http1_1, [("Upgrade", "websocket")])))
            #expect(machine.isExclusive(head(.POST, .http1_1, [("Expect", "100-continue")], uri: "/user/send")))
        }
        let post = head(.POST, .http1_1, [("Content-Length", "3")])
        #expect(safe.isExclusive(post))
        #expect(!all.isExclusive(post))
        #expect(paths.isExclusive(post))
        #expect(!paths.isExclusive(head(.POST, .http1_1, [("Content-Length", "3")], uri: "/user/send")))
        #expect(!paths.isExclusive(head(.POST, .http1_1, [("Content-Length", "3")], uri: "/broadcast?x=1")))
        #expect(paths.isExclusive(head(.POST, .http1_1, [("Content-Length", "3")], uri: "/user/sendx")))
        #expect(paths.isExclusive(head(.POST, .http1_1, [("Content-Length", "3")], uri: "/user/register")))
        #expect(paths.isExclusive(head(.DELETE, .http1_1, [], uri: "/broadcasts")))
    }

    /// The default: a POST behind a pending GET waits for its answer, and a GET behind a pending POST waits too (the
    /// POST's effect may be what the GET reads); a POST to a path that may overlap starts at once.
    @Test func unsafeRequestsWaitForTheAnswersBeforeThemUnlessTheirPathMayOverlap() throws {
        var machine = Tests.make(overlap: .safeMethods(andPaths: ["/user/send"]))
        let first = try #require(Self.get(&machine, "/a"))
        guard case .none = machine.received(Tests.head(.POST, "/user/register", headers: [("Host", "x"), ("Content-Length", "0")])) else {
            Issue.record("a POST started behind a pending answer")
            return
        }
        guard case .none = machine.received(.end(nil)) else {
            Issue.record("a POST started behind a pending answer")
            return
        }
        #expect(machine.inFlightCount == 1)
        // Once the GET is answered, the POST starts, alone: the GET behind it waits for its answer.
        _ = machine.responseReady(.text("a"), for: first)
        _ = machine.responseEnded(keepAlive: true)
        let steps = Self.drain(&machine)
        guard case .inbound(.dispatch(let register, let registerID)) = steps.first(where: {
            if case .inbound(.dispatch) = $0 { true } else { false }
        }) else {
            Issue.record("the POST did not start after the answer before it: \(steps)")
            return
        }
        #expect(String(register.path) == "/user/register")
        guard case .none = machine.received(Tests.head(.GET, "/b")) else {
            Issue.record("a GET started behind a pending POST")
            return
        }
        guard case .none = machine.received(.end(nil)) else {
            Issue.record("a GET started behind a pending POST")
            return
        }
        #expect(machine.inFlightCount == 1)
        _ = machine.responseReady(.text("registered"), for: registerID)
        _ = machine.responseEnded(keepAlive: true)
        _ = Self.drain(&machine)
        #expect(machine.inFlightCount == 1)  // the GET
        // A POST to an overlapping path starts behind the pending GET.
        _ = machine.received(Tests.head(.POST, "/user/send", headers: [("Host", "x"), ("Content-Length", "0")]))
        guard case .dispatch(let send, _) = machine.received(.end(nil)) else {
            Issue.record("a POST to /user/send did not start behind a pending answer")
            return
        }
        #expect(String(send.path) == "/user/send")
        #expect(machine.inFlightCount == 2)
    }
}
