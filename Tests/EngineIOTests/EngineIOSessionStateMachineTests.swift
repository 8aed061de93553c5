@testable import EngineIO
import HTTPTypes
import NIOCore
import PushinatorHTTP
import Testing

/// A WebSocket stand-in: the machine only compares transports by identity.
private final class FakeSocket {
    let name: String
    init(_ name: String) { self.name = name }
}

private typealias Machine = EngineIOSessionStateMachine<FakeSocket>

/// Renders actions compactly, so that a test reads as the sequence on the wire.
private func render(_ actions: [Machine.Action]) -> [String] {
    actions.map(render)
}

private func render(_ packets: [EngineIOEncodedPacket]) -> String {
    packets.map { packet -> String in
        switch packet.kind {
        case .text(let text): String(buffer: text)
        case .binary(let bytes): "<\(bytes.readableBytes) bytes>"
        }
    }.joined(separator: ",")
}

private func render(_ delay: TimeAmount?) -> String {
    delay.map { "\($0.nanoseconds / 1_000_000)ms" } ?? "now"
}

private func render(_ action: Machine.Action) -> String {
    switch action {
    case .holdPoll: "hold"
    case .refusePoll(let delay): "refuse \(render(delay))"
    case .answerPendingPoll(let packets, let binary): "answer [\(render(packets))]\(binary ? "" : " b64")"
    case .refusePendingPoll(let delay): "refuse pending \(render(delay))"
    case .failPendingPoll: "fail pending"
    case .drainSoon: "drain soon"
    case .write(let packet, let socket): "write \(render([packet])) to \(socket.name)"
    case .flush(let socket): "flush \(socket.name)"
    case .sendText(let text, let socket): "send \(text) to \(socket.name)"
    case .closeTransport(let socket, let code): "close \(socket.name) \(code)"
    case .abortTransport(let socket, let delay): "abort \(socket.name) \(render(delay))"
    case .schedule(let timer, let delay): "schedule \(timer) \(render(delay))"
    case .cancel(let timer): "cancel \(timer)"
    case .cancelAllTimers: "cancel all"
    case .deliver(.text(let text)): "deliver \(String(buffer: text))"
    case .deliver(.binary(let bytes)): "deliver <\(bytes.readableBytes) bytes>"
    case .upgraded: "upgraded"
    case .closed(let reason): "closed \(reason)"
    }
}

private func render(_ action: Machine.SendAction) -> String {
    switch action {
    case .write(let socket): "write to \(socket.name)"
    case .none: "none"
    case .drainSoon: "drain soon"
    case .actions(let actions): render(actions).joined(separator: "; ")
    }
}

private func render(_ action: Machine.ReceiveAction) -> [String] {
    switch action {
    case .deliver(let message): render([.deliver(message)])
    case .actions(let actions): render(actions)
    }
}

extension EngineIOSessionStateMachine where Transport == FakeSocket {
    fileprivate static func make(
        version: EngineIOVersion = .v4,
        webSocket: FakeSocket? = nil,
        maxPayload: Int = 1_000_000,
        maxBufferedBytes: Int = 4 << 20,
        maxPacketsPerPoll: Int = 16
    ) -> Self {
        let configuration = EngineIOConfiguration(
            pingInterval: .milliseconds(300),
            pingTimeout: .milliseconds(200),
            maxPayload: maxPayload,
            upgradeTimeout: .seconds(10),
            allowEIO3: true,
            maxBufferedBytes: maxBufferedBytes,
            maxPacketsPerPoll: maxPacketsPerPoll
        )
        return Self(configuration: .init(configuration, version: version), webSocket: webSocket)
    }

    /// A polling session past its handshake: the open packet went out with the first GET.
    fileprivate static func polling(version: EngineIOVersion = .v4, maxPayload: Int = 1_000_000) -> Self {
        var machine = make(version: version, maxPayload: maxPayload)
        _ = machine.opened(sid: "sid", now: ms(0))
        _ = machine.pollArrived(supportsBinary: true, now: .uptimeNanoseconds(0))
        _ = machine.drainDue()
        return machine
    }

    fileprivate mutating func text(_ text: String, on socket: FakeSocket, now: NIODeadline = .uptimeNanoseconds(0))
        -> [String]
    {
        let packet = try! EngineIOPacket(webSocketText: ByteBuffer(string: text), version: configuration.version)
        return render(received(packet, on: socket, now: now))
    }

    fileprivate mutating func post(_ body: String, at now: NIODeadline = .uptimeNanoseconds(0))
        -> (actions: [String], refusal: EngineIOHTTPError?)
    {
        let result = payloadPosted(ByteBuffer(string: body), now: now)
        return (render(result.actions), result.refusal)
    }

    fileprivate mutating func poll(at now: NIODeadline = .uptimeNanoseconds(0), supportsBinary: Bool = true) -> [String] {
        render(pollArrived(supportsBinary: supportsBinary, now: now))
    }
}

private func ms(_ milliseconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000) }

@Suite("Engine.IO session state machine")
struct EngineIOSessionStateMachineTests {
    // MARK: Handshake and polling

    @Test func pollingHandshakeQueuesTheOpenPacketForTheFirstGet() {
        var machine = Machine.make()
        #expect(render(machine.opened(sid: "abc", now: ms(0))) == ["cancel pongDeadline", "schedule heartbeat 300ms"])
        #expect(machine.queuedPacketCount == 1)
        #expect(machine.poll() == ["hold", "drain soon"])
        let answer = machine.drainDue().map { render([$0]) } ?? []
        #expect(
            answer == [
                #"answer [0{"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}]"#
            ]
        )
        #expect(machine.transportName == "polling")
    }

    @Test func webSocketHandshakeWritesTheOpenPacketWithoutUpgrades() {
        let socket = FakeSocket("ws")
        var machine = Machine.make(webSocket: socket)
        #expect(
            render(machine.opened(sid: "abc", now: ms(0))) == [
                #"write 0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000} to ws"#,
                "cancel pongDeadline", "schedule heartbeat 300ms",
            ]
        )
        #expect(machine.transportName == "websocket")
        #expect(render(machine.send(.message(encodedText: ByteBuffer(string: "4hi")))) == "write to ws")
    }

    @Test func heldPollTakesPacketsSentLaterInOneResponse() {
        var machine = Machine.polling()
        #expect(machine.poll() == ["hold"])
        #expect(render(machine.send(.message(encodedText: ByteBuffer(string: "4a")))) == "drain soon")
        #expect(render(machine.send(.message(encodedText: ByteBuffer(string: "4b")))) == "none")
        #expect(machine.drainDue().map { render([$0]) } == ["answer [4a,4b]"])
        #expect(machine.drainDue() == nil)
    }

    @Test func pollResponsesRespectThePacketLimit() {
        var machine = Machine.make(maxPacketsPerPoll: 2)
        _ = machine.opened(sid: "s", now: ms(0))
        for text in ["4a", "4b"] { _ = machine.send(.message(encodedText: ByteBuffer(string: text))) }
        #expect(machine.poll(supportsBinary: false) == ["hold", "drain soon"])
        #expect(machine.drainDue().map { render([$0]) }?.first?.hasSuffix(",4a] b64") == true)
        #expect(machine.queuedPacketCount == 1)
        #expect(machine.poll() == ["hold", "drain soon"])
        #expect(machine.drainDue().map { render([$0]) } == ["answer [4b]"])
    }

    @Test func secondConcurrentPollEndsTheSession() {
        var machine = Machine.polling()
        #expect(machine.poll() == ["hold"])
        #expect(
            machine.poll() == [
                "answer [1]", "refuse now", "cancel all", "closed transport error",
            ]
        )
        #expect(machine.isClosed)
        #expect(machine.poll() == ["refuse now"])
    }

    @Test func slowPollingConsumerIsClosed() {
        var machine = Machine.make(maxBufferedBytes: 10)
        _ = machine.opened(sid: "s", now: ms(0))  // the open packet alone is over the limit
        #expect(machine.isClosed)
        var small = Machine.make(maxBufferedBytes: 200)
        _ = small.opened(sid: "s", now: ms(0))
        #expect(small.poll() == ["hold", "drain soon"])
        _ = small.drainDue()
        let big = EngineIOEncodedPacket.message(encodedText: ByteBuffer(string: "4" + String(repeating: "x", count: 300)))
        #expect(render(small.send(big)) == "cancel all; closed slow consumer")
        #expect(render(small.send(big)) == "none")
    }

    // MARK: POST

    @Test func postedMessagesAreDeliveredInOrder() {
        var machine = Machine.polling()
        let (actions, refusal) = machine.post("4hello\u{1E}4world\u{1E}6\u{1E}5")
        #expect(actions == ["deliver hello", "deliver world"])
        #expect(refusal == nil)
    }

    @Test func oversizedPostIsRefusedAndEndsTheSession() {
        var machine = Machine.polling(maxPayload: 8)
        let (actions, refusal) = machine.post("4123456789")
        #expect(refusal == .payloadTooLarge)
        #expect(actions == ["cancel all", "closed transport error"])
    }

    @Test func invalidPostIsRefusedAndEndsTheSession() {
        var machine = Machine.polling()
        let (actions, refusal) = machine.post("9nonsense")
        #expect(refusal == .badRequest)
        #expect(actions == ["cancel all", "closed transport error"])
    }

    @Test func postAfterTheUpgradeIsRefusedButKeepsTheSession() {
        var machine = Machine.make(webSocket: FakeSocket("ws"))
        let (actions, refusal) = machine.post("4late")
        #expect(refusal == .badRequest)
        #expect(actions.isEmpty)
        #expect(!machine.isClosed)
    }

    @Test func clientClosePacketAnswersTheHeldPollWithNoop() {
        var machine = Machine.polling()
        _ = machine.poll()
        let (actions, refusal) = machine.post("1\u{1E}4ignored")
        #expect(refusal == nil)
        #expect(actions == ["cancel all", "answer [6]", "closed client close"])
    }

    @Test func openPacketFromTheClientIsAProtocolError() {
        var machine = Machine.polling()
        #expect(machine.post("0").actions == ["cancel all", "closed transport error"])
    }

    // MARK: Upgrade

    @Test func upgradeWithAPendingPoll() {
        var machine = Machine.polling()
        let probe = FakeSocket("probe")
        #expect(machine.poll() == ["hold"])
        _ = machine.send(.message(encodedText: ByteBuffer(string: "4queued")))
        // the held GET is being drained, but the upgrade starts first
        #expect(render(machine.upgradeRequested(by: probe)) == ["schedule upgrade 10000ms"])
        #expect(machine.text("2probe", on: probe) == ["send 3probe to probe", "schedule pausedPollRelease 100ms"])
        // the drain answers the held GET with what was queued; the client's next GET is paused and gets a noop
        #expect(machine.drainDue().map { render([$0]) } == ["answer [4queued]"])
        #expect(machine.poll() == ["hold", "schedule pausedPollRelease 100ms"])
        #expect(render(machine.timerFired(.pausedPollRelease, now: ms(100))) == ["answer [6]"])
        _ = machine.send(.message(encodedText: ByteBuffer(string: "4during")))
        #expect(
            machine.text("5", on: probe, now: ms(150)) == [
                "cancel upgrade", "cancel pausedPollRelease", "upgraded", "write 4during to probe", "flush probe",
            ]
        )
        #expect(machine.transportName == "websocket")
        #expect(render(machine.send(.message(encodedText: ByteBuffer(string: "4after")))) == "write to probe")
        #expect(machine.text("4hello", on: probe) == ["deliver hello"])
    }

    @Test func pollThatOvertookTheUpgradePacketIsRefusedAfterTheDelay() {
        var machine = Machine.polling()
        let probe = FakeSocket("probe")
        _ = machine.upgradeRequested(by: probe)
        _ = machine.text("2probe", on: probe)
        #expect(machine.poll() == ["hold", "schedule pausedPollRelease 100ms"])
        #expect(
            machine.text("5", on: probe, now: ms(1000)) == [
                "cancel upgrade", "cancel pausedPollRelease", "upgraded", "refuse pending 20ms", "flush probe",
            ]
        )
    }

    @Test func pollAfterTheUpgradeWaitsForTheRestOfTheRefusalDelay() {
        var machine = Machine.polling()
        let probe = FakeSocket("probe")
        _ = machine.upgradeRequested(by: probe)
        _ = machine.text("2probe", on: probe)
        _ = machine.text("5", on: probe, now: ms(1000))
        #expect(machine.poll(at: ms(1005)) == ["refuse 15ms"])
        #expect(machine.poll(at: ms(1020)) == ["refuse now"])
        #expect(machine.poll(at: ms(5000)) == ["refuse now"])
        // a session that began on WebSocket refuses at once
        var direct = Machine.make(webSocket: FakeSocket("ws"))
        #expect(direct.poll() == ["refuse now"])
    }

    @Test func upgradeTimesOutAndPollingGoesOn() {
        var machine = Machine.polling()
        let probe = FakeSocket("probe")
        _ = machine.upgradeRequested(by: probe)
        #expect(render(machine.timerFired(.upgrade, now: ms(10_000))) == ["close probe 1008"])
        #expect(machine.transportName == "polling")
        #expect(render(machine.timerFired(.upgrade, now: ms(10_001))).isEmpty)
        // another probe may try again
        #expect(render(machine.upgradeRequested(by: FakeSocket("again"))) == ["schedule upgrade 10000ms"])
    }

    @Test func onlyOneWebSocketAtATime() {
        var machine = Machine.polling()
        let probe = FakeSocket("probe")
        _ = machine.upgradeRequested(by: probe)
        let second = FakeSocket("second")
        #expect(render(machine.upgradeRequested(by: second)) == ["close second 1008"])
        _ = machine.text("2probe", on: probe)
        _ = machine.text("5", on: probe)
        #expect(render(machine.upgradeRequested(by: second)) == ["close second 1008"])
        #expect(second.name == "second")
        // frames from a transport that is not the session's are ignored
        #expect(machine.text("4stray", on: second).isEmpty)
    }

    @Test func brokenProbeIsDroppedAndPollingGoesOn() {
        var machine = Machine.polling()
        let probe = FakeSocket("probe")
        _ = machine.upgradeRequested(by: probe)
        #expect(machine.text("4early", on: probe) == ["cancel upgrade", "close probe 1002"])
        #expect(machine.transportName == "polling")
        let other = FakeSocket("other")
        _ = machine.upgradeRequested(by: other)
        #expect(render(machine.receivedInvalidFrame(on: other)) == ["cancel upgrade", "close other 1002"])
        let third = FakeSocket("third")
        _ = machine.upgradeRequested(by: third)
        #expect(render(machine.transportClosed(third)) == ["cancel upgrade"])
        #expect(render(machine.transportClosed(third)).isEmpty)
        #expect(!machine.isClosed)
    }

    @Test func closeDuringTheUpgradeCutsTheProbeLater() {
        var machine = Machine.polling()
        let probe = FakeSocket("probe")
        _ = machine.poll()
        _ = machine.upgradeRequested(by: probe)
        _ = machine.text("2probe", on: probe)
        #expect(
            render(machine.close(reason: .forcedClose)) == [
                "cancel all", "answer [1]", "abort probe 10000ms", "closed forced close",
            ]
        )
        // the client switched to the probe anyway: cut it
        #expect(machine.text("5", on: probe) == ["abort probe now"])
        #expect(render(machine.receivedInvalidFrame(on: probe)) == ["abort probe now"])
        #expect(render(machine.close(reason: .forcedClose)).isEmpty)
        #expect(render(machine.timerFired(.heartbeat, now: ms(1))).isEmpty)
        #expect(render(machine.upgradeRequested(by: probe)) == ["close probe 1008"])
    }

    @Test func abortFailsTheHeldPoll() {
        var machine = Machine.polling()
        _ = machine.poll()
        #expect(render(machine.close(reason: .forcedClose, notifyClient: false)) == ["cancel all", "fail pending", "closed forced close"])
    }

    // MARK: WebSocket sessions

    @Test func webSocketCloseAndErrors() {
        let socket = FakeSocket("ws")
        var machine = Machine.make(webSocket: socket)
        #expect(render(machine.receivedInvalidFrame(on: FakeSocket("other"))).isEmpty)
        #expect(render(machine.transportClosed(FakeSocket("other"))).isEmpty)
        #expect(
            render(machine.receivedInvalidFrame(on: socket)) == [
                "cancel all", "write 1 to ws", "close ws 1000", "closed transport error",
            ]
        )
        var closedByClient = Machine.make(webSocket: socket)
        #expect(render(closedByClient.transportClosed(socket)) == ["cancel all", "abort ws now", "closed transport close"])
        var shuttingDown = Machine.make(webSocket: socket)
        #expect(
            render(shuttingDown.close(reason: .serverShuttingDown)) == [
                "cancel all", "write 1 to ws", "close ws 1001", "closed server shutting down",
            ]
        )
        #expect(render(shuttingDown.send(.control(.noop))) == "none")
    }

    @Test func binaryMessagesAreDelivered() {
        let socket = FakeSocket("ws")
        var machine = Machine.make(webSocket: socket)
        let packet = try! EngineIOPacket(webSocketBinary: ByteBuffer(bytes: [1, 2, 3]), version: .v4)
        #expect(render(machine.received(packet, on: socket, now: ms(0))) == ["deliver <3 bytes>"])
        #expect(machine.text("6", on: socket).isEmpty)
        #expect(machine.text("5", on: socket).isEmpty)
    }

    // MARK: Heartbeat

    @Test func v4HeartbeatPingsAndTimesOut() {
        let socket = FakeSocket("ws")
        var machine = Machine.make(webSocket: socket)
        _ = machine.opened(sid: "s", now: ms(0))
        #expect(render(machine.timerFired(.heartbeat, now: ms(300))) == ["write 2 to ws", "schedule pongDeadline 200ms"])
        #expect(machine.text("3", on: socket) == ["cancel pongDeadline", "schedule heartbeat 300ms"])
        _ = machine.timerFired(.heartbeat, now: ms(600))
        #expect(
            render(machine.timerFired(.pongDeadline, now: ms(800))) == [
                "cancel all", "write 1 to ws", "close ws 1000", "closed ping timeout",
            ]
        )
        // v4 clients do not ping
        var quiet = Machine.make(webSocket: socket)
        #expect(quiet.text("2", on: socket).isEmpty)
    }

    @Test func v4HeartbeatOnPollingQueuesThePing() {
        var machine = Machine.polling()
        #expect(render(machine.timerFired(.heartbeat, now: ms(300))) == ["schedule pongDeadline 200ms"])
        #expect(machine.poll() == ["hold", "drain soon"])
        #expect(machine.drainDue().map { render([$0]) } == ["answer [2]"])
        #expect(machine.post("3").actions == ["cancel pongDeadline", "schedule heartbeat 300ms"])
    }

    @Test func pongDeadlineCountsFromWhenThePingWasDue() {
        let socket = FakeSocket("ws")
        var machine = Machine.make(webSocket: socket)
        _ = machine.opened(sid: "s", now: ms(0))
        // the loop was busy: the heartbeat fires 50 ms late, the pong is still due at 300 + 200 ms
        #expect(render(machine.timerFired(.heartbeat, now: ms(350))) == ["write 2 to ws", "schedule pongDeadline 150ms"])
    }

    @Test func requestAfterThePongDeadlineEndsTheSessionBeforeTheTimerFires() {
        var machine = Machine.polling()
        _ = machine.timerFired(.heartbeat, now: ms(300))
        #expect(machine.poll(at: ms(499)) == ["hold", "drain soon"])
        _ = machine.drainDue()
        #expect(machine.poll(at: ms(500)) == ["refuse now", "cancel all", "closed ping timeout"])
        var posting = Machine.polling()
        _ = posting.timerFired(.heartbeat, now: ms(300))
        let (actions, refusal) = posting.post("3", at: ms(600))
        #expect(refusal == .badRequest)
        #expect(actions == ["cancel all", "closed ping timeout"])
        // a pong in time moves the deadline away
        var answered = Machine.polling()
        _ = answered.timerFired(.heartbeat, now: ms(300))
        _ = answered.post("3", at: ms(400))
        #expect(answered.poll(at: ms(650)) == ["hold", "drain soon"])
    }

    @Test func v3ClientPingsAndTheServerAnswers() {
        let socket = FakeSocket("ws")
        var machine = Machine.make(version: .v3, webSocket: socket)
        #expect(render(machine.opened(sid: "s", now: ms(0))).last == "schedule pongDeadline 500ms")
        #expect(machine.text("2probe", on: socket) == ["write 3probe to ws", "schedule pongDeadline 500ms"])
        #expect(machine.text("3", on: socket).isEmpty)
        #expect(render(machine.timerFired(.pongDeadline, now: ms(500))).last == "closed ping timeout")
    }

    @Test func timersThatNoLongerApplyDoNothing() {
        var machine = Machine.polling()
        #expect(render(machine.timerFired(.pausedPollRelease, now: ms(1))).isEmpty)
        #expect(render(machine.timerFired(.upgrade, now: ms(1))).isEmpty)
    }

    // MARK: Framing

    @Test func v4PollResponseBase64EncodesBinaryPackets() {
        let response = EngineIOPollResponse.make(
            [.message(encodedText: ByteBuffer(string: "4a")), .binary(ByteBuffer(bytes: [1, 2, 3, 4]))],
            version: .v4,
            supportsBinary: true
        )
        #expect(response.headers[.contentType] == "text/plain; charset=UTF-8")
        #expect(response.body.buffer.map { String(buffer: $0) } == "4a\u{1E}bAQIDBA==")
    }

    @Test func v3PollResponseUsesTheBinaryOrTextPayload() {
        let packets: [EngineIOEncodedPacket] = [.control(.noop), .binary(ByteBuffer(bytes: [1, 2]))]
        let binary = EngineIOPollResponse.make(packets, version: .v3, supportsBinary: true)
        #expect(binary.headers[.contentType] == "application/octet-stream")
        #expect(binary.body.buffer.map { Array($0.readableBytesView) } == [0, 1, 0xFF, 0x36, 1, 3, 0xFF, 4, 1, 2])
        let text = EngineIOPollResponse.make(packets, version: .v3, supportsBinary: false)
        #expect(text.body.buffer.map { String(buffer: $0) } == "1:66:b4AQI=")
    }

    @Test func v3WebSocketBinaryFramesCarryTheMessageType() {
        let packet = EngineIOEncodedPacket.binary(ByteBuffer(bytes: [9, 8]))
        #expect(Array(packet.webSocketFrame(for: .v3).bytes.readableBytesView) == [0x82, 3, 4, 9, 8])
        #expect(Array(packet.webSocketFrame(for: .v4).bytes.readableBytesView) == [0x82, 2, 9, 8])
    }
}
