import EngineIO
import NIOCore
@testable import PushinatorSocketIO
import PushinatorHTTP
import PushinatorJSON
import Testing

/// A socket stand-in: the machine only compares sockets by identity.
private final class FakeSocket {
    let name: String
    init(_ name: String) { self.name = name }
}

private typealias Machine = SocketIOConnectionStateMachine<FakeSocket>

private func render(_ packet: SocketIOPacket) -> String {
    var buffer = ByteBuffer()
    let attachments = packet.encode(into: &buffer)
    return String(buffer: buffer) + (attachments.isEmpty ? "" : " +\(attachments.count)")
}

private func render(_ actions: [Machine.Action]) -> [String] {
    actions.map { action -> String in
        switch action {
        case .connect(let namespace, let auth): "connect \(namespace) \(auth.jsonString)"
        case .send(let packet): "send \(render(packet))"
        case .accept(let socket, let answer): "accept \(socket.name) \(render(answer.packet))"
        case .dispatch(let socket, let packet): "dispatch \(render(packet)) to \(socket.name)"
        case .resolveAck(let socket, let id, let arguments): "ack \(id) \(JSONValue.array(arguments).jsonString) to \(socket.name)"
        case .remove(let socket, let reason): "remove \(socket.name) (\(reason))"
        case .schedule(let timer, let delay): "schedule \(timer) \(delay.nanoseconds / 1_000_000)ms"
        case .cancel(let timer): "cancel \(timer)"
        case .log(let refusal): "log \(refusal)"
        case .closeConnection(let reason): "close (\(reason))"
        case .abortConnection: "abort"
        }
    }
}

private func render(_ outcome: Machine.ReceiveAction) -> [String] {
    switch outcome {
    case .none: []
    case .dispatch(let socket, let packet): render([.dispatch(socket, packet)])
    case .actions(let actions): render(actions)
    }
}

extension SocketIOConnectionStateMachine where Socket == FakeSocket {
    fileprivate static func make(
        legacy: Bool = false,
        maxAttachments: Int = 10,
        maxPendingBytes: Int = 100,
        budget: PartialBinaryBudget = PartialBinaryBudget(limit: 1000)
    ) -> Self {
        Self(
            configuration: .init(
                isLegacyProtocol: legacy,
                connectTimeout: .seconds(45),
                decoder: .init(maxAttachments: maxAttachments, maxPendingAttachmentBytes: maxPendingBytes),
                binaryReassemblyTimeout: .seconds(30)
            ),
            budget: budget
        )
    }

    fileprivate mutating func text(_ text: String) -> [String] { render(received(text: ByteBuffer(string: text))) }

    fileprivate mutating func binary(_ count: Int) -> [String] {
        render(received(binary: ByteBuffer(repeating: 7, count: count)))
    }

    /// Connects `socket` to `namespace` (no middleware).
    fileprivate mutating func join(_ namespace: String, _ socket: FakeSocket) {
        _ = text(namespace == "/" ? "0" : "0\(namespace),")
        _ = connectAccepted(namespace: namespace, socket: socket, socketID: socket.name)
    }
}

@Suite("Socket.IO connection state machine")
struct SocketIOConnectionStateMachineTests {
    // MARK: Connecting

    @Test func connectTimeoutStartsAndAConnectAsksForTheNamespace() {
        var machine = Machine.make()
        #expect(render(machine.started()) == ["schedule connect 45000ms"])
        #expect(machine.text(#"0/chat,{"token":"t"}"#) == [#"connect /chat {"token":"t"}"#])
        // a second CONNECT while the middleware runs is ignored
        #expect(machine.text("0/chat,").isEmpty)
        let socket = FakeSocket("s1")
        #expect(
            render(machine.connectAccepted(namespace: "/chat", socket: socket, socketID: "s1")) == [
                "cancel connect", #"accept s1 0/chat,{"sid":"s1"}"#,
            ]
        )
        // and once connected too
        #expect(machine.text("0/chat,").isEmpty)
        #expect(machine.connectedSockets["/chat"] === socket)
    }

    @Test func connectWithoutAuthGetsAnEmptyObject() {
        var machine = Machine.make()
        #expect(machine.text("0") == ["connect / {}"])
    }

    @Test func legacyClientsJoinTheMainNamespaceAtOnceAndGetNoSid() {
        var machine = Machine.make(legacy: true)
        #expect(render(machine.started()) == ["connect / {}", "schedule connect 45000ms"])
        #expect(render(machine.connectAccepted(namespace: "/", socket: FakeSocket("s"), socketID: "s")) == ["cancel connect", "accept s 0"])
        // v4 clients put the query on the namespace
        #expect(machine.text("0/chat?token=1") == ["connect /chat {}"])
    }

    @Test func refusedConnectSendsConnectErrorAndMayBeRetried() {
        var machine = Machine.make()
        _ = machine.text("0/admin,")
        #expect(
            render(machine.connectRefused(namespace: "/admin", data: ["message": "Not authorized"])) == [
                #"send 4/admin,{"message":"Not authorized"}"#
            ]
        )
        #expect(machine.text("0/admin,") == ["connect /admin {}"])
        // an outcome for a namespace that is not connecting is stale
        #expect(render(machine.connectRefused(namespace: "/other", data: [:])).isEmpty)
        #expect(render(machine.connectAccepted(namespace: "/other", socket: FakeSocket("x"), socketID: "x")).isEmpty)
    }

    @Test func connectTimeoutClosesAClientWithoutNamespaces() {
        var machine = Machine.make()
        _ = machine.started()
        #expect(render(machine.timerFired(.connect)) == ["log noNamespaceInTime", "close (forced close)"])
        var joined = Machine.make()
        joined.join("/", FakeSocket("s"))
        #expect(render(joined.timerFired(.connect)).isEmpty)
    }

    @Test func middlewareOutcomeAfterTheCloseIsIgnored() {
        var machine = Machine.make()
        _ = machine.text("0")
        _ = machine.connectionClosed(reason: .transportClose)
        #expect(render(machine.connectAccepted(namespace: "/", socket: FakeSocket("s"), socketID: "s")).isEmpty)
        #expect(machine.text("0").isEmpty)
        #expect(render(machine.timerFired(.connect)).isEmpty)
    }

    // MARK: Events and acknowledgements

    @Test func eventsGoToTheNamespaceSocket() {
        var machine = Machine.make()
        let socket = FakeSocket("s")
        machine.join("/chat", socket)
        #expect(machine.text(#"2/chat,["hi",1]"#) == [#"dispatch 2/chat,["hi",1] to s"#])
        #expect(machine.text(#"2/chat,7["hi"]"#) == [#"dispatch 2/chat,7["hi"] to s"#])
        // not joined, or no event name: dropped
        #expect(machine.text(#"2["hi"]"#).isEmpty)
        #expect(machine.text(#"2/chat,[1]"#).isEmpty)
    }

    @Test func acknowledgementsFromTheClientResolveTheSocketsAck() {
        var machine = Machine.make()
        let socket = FakeSocket("s")
        machine.join("/", socket)
        #expect(machine.text(#"312["ok"]"#) == [#"ack 12 ["ok"] to s"#])
        #expect(machine.text(#"3/other,1["ok"]"#).isEmpty)
    }

    @Test func binaryEventIsDispatchedOnceItsAttachmentsArrived() {
        var machine = Machine.make()
        let socket = FakeSocket("s")
        machine.join("/", socket)
        #expect(machine.text(#"52-["file",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#) == ["schedule binaryReassembly 30000ms"])
        #expect(machine.binary(3).isEmpty)
        #expect(machine.pendingBinaryBytes == 3)
        let done = machine.binary(4)
        #expect(done.first == "cancel binaryReassembly")
        #expect(done.last == #"dispatch 52-["file",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}] +2 to s"#)
        #expect(machine.pendingBinaryBytes == 0)
    }

    @Test func binaryAckResolvesWithTheAttachments() {
        var machine = Machine.make()
        let socket = FakeSocket("s")
        machine.join("/", socket)
        _ = machine.text(#"61-4[{"_placeholder":true,"num":0}]"#)
        let done = machine.binary(2)
        #expect(done.count == 2)
        #expect(done.last?.hasPrefix("ack 4 ") == true)
    }

    // MARK: Binary limits

    @Test func unfinishedBinaryPacketOverThePerConnectionLimitIsRefused() {
        let budget = PartialBinaryBudget(limit: 1000)
        var machine = Machine.make(maxPendingBytes: 100, budget: budget)
        let socket = FakeSocket("s")
        machine.join("/", socket)
        _ = machine.text(#"51-["f",{"_placeholder":true,"num":0}]"#)
        // the single attachment is over the limit
        #expect(
            machine.binary(101) == [
                "cancel binaryReassembly", "log partialBinaryTooLarge(limit: 100)", "remove s (parse error)",
                "close (transport error)",
            ]
        )
        #expect(budget.usedBytes == 0)
    }

    @Test func serverWideBudgetBoundsManyConnections() {
        let budget = PartialBinaryBudget(limit: 250)
        var connections = (0..<3).map { _ in Machine.make(maxAttachments: 10, maxPendingBytes: 200, budget: budget) }
        let announce = #"510-["upload","# + (0..<10).map { #"{"_placeholder":true,"num":\#($0)}"# }.joined(separator: ",") + "]"
        for index in connections.indices {
            connections[index].join("/", FakeSocket("s\(index)"))
            #expect(connections[index].text(announce) == ["schedule binaryReassembly 30000ms"])
        }
        // 9 of 10 attachments each: the first connection holds 90 bytes, the second 90, the third runs out
        for index in 0..<2 {
            for _ in 0..<9 { #expect(connections[index].binary(10).isEmpty) }
        }
        #expect(budget.usedBytes == 180)
        var refused: [String] = []
        for _ in 0..<9 {
            refused = connections[2].binary(10)
            if !refused.isEmpty { break }
        }
        #expect(refused.contains("log partialBinaryBudgetSpent(limit: 250)"))
        #expect(refused.last == "close (transport error)")
        #expect(budget.usedBytes == 180)
        // a connection that closes gives its share back
        _ = connections[0].connectionClosed(reason: .transportClose)
        #expect(budget.usedBytes == 90)
        #expect(connections[0].pendingBinaryBytes == 0)
        // and the one that finishes too
        #expect(connections[1].binary(10).first == "cancel binaryReassembly")
        #expect(budget.usedBytes == 0)
    }

    @Test func binaryPacketThatNeverCompletesTimesOut() {
        let budget = PartialBinaryBudget(limit: 1000)
        var machine = Machine.make(budget: budget)
        machine.join("/", FakeSocket("s"))
        _ = machine.text(#"52-["f",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        _ = machine.binary(5)
        #expect(
            render(machine.timerFired(.binaryReassembly)) == [
                "cancel binaryReassembly", "log partialBinaryTimedOut", "remove s (parse error)", "close (transport error)",
            ]
        )
        #expect(budget.usedBytes == 0)
        // a stale timer after completion does nothing
        var complete = Machine.make()
        #expect(render(complete.timerFired(.binaryReassembly)).isEmpty)
    }

    @Test func textWhileAttachmentsAreAwaitedIsAParseError() {
        let budget = PartialBinaryBudget(limit: 1000)
        var machine = Machine.make(budget: budget)
        machine.join("/", FakeSocket("s"))
        _ = machine.text(#"52-["f",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        _ = machine.binary(5)
        let refused = machine.text(#"2["x"]"#)
        #expect(refused.first == "cancel binaryReassembly")
        #expect(refused.contains("remove s (parse error)"))
        #expect(budget.usedBytes == 0)
    }

    @Test func invalidPacketsAndUnexpectedBinaryCloseTheConnection() {
        var machine = Machine.make()
        machine.join("/", FakeSocket("s"))
        #expect(machine.text("9").last == "close (transport error)")
        var other = Machine.make()
        #expect(other.binary(3).last == "close (transport error)")
        var tooMany = Machine.make(maxAttachments: 1)
        #expect(tooMany.text(#"52-["f",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#).last == "close (transport error)")
    }

    // MARK: Disconnecting

    @Test func clientLeavesANamespace() {
        var machine = Machine.make()
        let socket = FakeSocket("s")
        machine.join("/chat", socket)
        #expect(machine.text("1/chat,") == ["remove s (client namespace disconnect)"])
        #expect(machine.text("1/chat,").isEmpty)
        #expect(machine.connectedSockets.isEmpty)
    }

    @Test func connectErrorFromTheClientIsAProtocolError() {
        var machine = Machine.make()
        machine.join("/", FakeSocket("s"))
        #expect(
            machine.text(#"4{"message":"x"}"#) == [
                "cancel binaryReassembly", "log connectErrorFromClient", "remove s (parse error)", "close (transport error)",
            ]
        )
    }

    @Test func serverDisconnectsOneNamespaceOrTheWholeConnection() {
        var machine = Machine.make()
        let main = FakeSocket("main")
        let chat = FakeSocket("chat")
        machine.join("/", main)
        machine.join("/chat", chat)
        #expect(render(machine.disconnect(chat, from: "/chat", closeConnection: false)) == ["send 1/chat,", "remove chat (server namespace disconnect)"])
        #expect(render(machine.disconnect(chat, from: "/chat", closeConnection: false)).isEmpty)
        #expect(
            render(machine.disconnect(chat, from: "/chat", closeConnection: true)) == [
                "remove main (server namespace disconnect)", "close (forced close)",
            ]
        )
    }

    @Test func droppedConnectionAndTransportCloseGiveTheTransportReason() {
        var dropped = Machine.make()
        dropped.join("/", FakeSocket("s"))
        #expect(render(dropped.dropConnection()) == ["remove s (forced close)", "abort"])
        var lost = Machine.make()
        lost.join("/", FakeSocket("s"))
        #expect(
            render(lost.connectionClosed(reason: .pingTimeout)) == [
                "cancel connect", "cancel binaryReassembly", "remove s (ping timeout)",
            ]
        )
        #expect(render(lost.connectionClosed(reason: .pingTimeout)).isEmpty)
        #expect(lost.text(#"2["late"]"#).isEmpty)
        #expect(lost.binary(1).isEmpty)
    }

    // MARK: Budget

    @Test func processWideMemoryBudgetIsChargedToo() {
        let process = MemoryBudget(limit: 50)
        var machine = Machine.make(budget: PartialBinaryBudget(limit: 1000, process: process))
        machine.join("/", FakeSocket("s"))
        _ = machine.text(#"52-["f",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        #expect(machine.binary(40).isEmpty)
        #expect(process.reserved == 40)
        #expect(machine.binary(40).contains("log partialBinaryBudgetSpent(limit: 1000)"))
        #expect(process.reserved == 0)
        #expect(process.refusedCount == 1)
    }

    @Test func budgetReservesOnlyWhatFits() {
        let budget = PartialBinaryBudget(limit: 10)
        #expect(budget.reserve(6))
        #expect(!budget.reserve(5))
        #expect(budget.reserve(4))
        budget.release(10)
        #expect(budget.usedBytes == 0)
    }
}
