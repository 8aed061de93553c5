import PushinatorCluster
import PushinatorJSON
import Testing

/// socket.io's `ClusterAdapterWithHeartbeat` logic, driven by events and an injected time.
@Suite struct ClusterMembershipTests {
    static let t0 = ContinuousClock.now

    static func make() -> ClusterMembership { ClusterMembership(localUID: "me", namespace: "/") }

    static func message(_ uid: String, _ body: ClusterMessage.Body, nsp: String = "/") -> ClusterMessage {
        ClusterMessage(uid: uid, nsp: nsp, body: body)
    }

    @Test func aStartingNodeAnnouncesItselfAndTheOthersAnswer() {
        var node = Self.make()
        #expect(node.start(now: Self.t0) == [.publish(.initialHeartbeat)])
        #expect(node.serverCount == 1)
        #expect(node.receive(Self.message("b", .initialHeartbeat), now: Self.t0) == [.publish(.heartbeat)])
        #expect(node.receive(Self.message("c", .heartbeat), now: Self.t0) == [])
        #expect(node.serverCount == 3)
    }

    @Test func ownMessagesOtherNamespacesAndEmittersDoNotCount() {
        var node = Self.make()
        #expect(node.receive(Self.message("me", .heartbeat), now: Self.t0) == [])
        #expect(node.receive(Self.message("b", .heartbeat, nsp: "/admin"), now: Self.t0) == [])
        let fromEmitter = Self.message("emitter", .broadcast(packet: ["type": 2, "data": ["x"]], options: .init()))
        #expect(node.receive(fromEmitter, now: Self.t0) == [.apply(fromEmitter)])
        #expect(node.serverCount == 1)
    }

    @Test func messagesForTheAdapterAreApplied() {
        var node = Self.make()
        let join = Self.message("b", .socketsJoin(options: .init(rooms: ["r"]), rooms: ["s"]))
        let count = Self.message("b", .broadcastClientCount(requestId: "q", clientCount: 3))
        let ack = Self.message("b", .broadcastAck(requestId: "q", packet: "ok"))
        let fetch = Self.message("b", .fetchSockets(options: .init(), requestId: "f"))
        for message in [join, count, ack, fetch] { #expect(node.receive(message, now: Self.t0) == [.apply(message)]) }
    }

    @Test func aSilentNodeIsDownAfterTheTimeout() {
        var node = Self.make()
        _ = node.receive(Self.message("b", .heartbeat), now: Self.t0)
        #expect(node.nextDeadline == Self.t0 + .seconds(10))
        #expect(node.tick(now: Self.t0 + .seconds(10)) == [])
        #expect(node.tick(now: Self.t0 + .seconds(10) + .milliseconds(1)) == [.nodeDown(uid: "b")])
        #expect(node.serverCount == 1)
        #expect(node.nextDeadline == nil)
    }

    @Test func adapterCloseRemovesANodeAtOnce() {
        var node = Self.make()
        _ = node.receive(Self.message("b", .heartbeat), now: Self.t0)
        #expect(node.receive(Self.message("b", .adapterClose), now: Self.t0) == [.nodeDown(uid: "b")])
        #expect(node.serverCount == 1)
    }

    @Test func aHeartbeatGoesOutAfterSilenceOnly() {
        var node = Self.make()
        _ = node.start(now: Self.t0)
        #expect(node.tick(now: Self.t0 + .seconds(4)) == [])
        node.published(now: Self.t0 + .seconds(4))  // a broadcast postpones it
        #expect(node.tick(now: Self.t0 + .seconds(5)) == [])
        #expect(node.tick(now: Self.t0 + .seconds(9)) == [.publish(.heartbeat)])
        #expect(node.nextDeadline == Self.t0 + .seconds(14))
    }

    @Test func fetchSocketsCompletesWhenEveryNodeAnswered() {
        var node = Self.make()
        _ = node.receive(Self.message("b", .heartbeat), now: Self.t0)
        _ = node.receive(Self.message("c", .heartbeat), now: Self.t0)
        let request = ClusterMessage.Body.fetchSockets(options: .init(rooms: ["r"]), requestId: "f1")
        #expect(node.request(request, now: Self.t0) == [.publish(request)])
        #expect(node.pendingRequests == ["f1"])
        #expect(node.receive(Self.message("b", .fetchSocketsResponse(requestId: "f1", sockets: [["id": "s1"]])), now: Self.t0) == [])
        // a second answer from the same node, or an answer to an unknown request, changes nothing
        #expect(node.receive(Self.message("b", .fetchSocketsResponse(requestId: "f1", sockets: [["id": "s9"]])), now: Self.t0) == [])
        #expect(node.receive(Self.message("b", .fetchSocketsResponse(requestId: "zz", sockets: [])), now: Self.t0) == [])
        #expect(
            node.receive(Self.message("c", .fetchSocketsResponse(requestId: "f1", sockets: [["id": "s2"], ["id": "s3"]])), now: Self.t0)
                == [.requestCompleted(requestId: "f1", responses: [["id": "s1"], ["id": "s2"], ["id": "s3"]], missing: 0)]
        )
        #expect(node.pendingRequests.isEmpty)
    }

    @Test func aRequestTimesOutWithWhatItHas() {
        var node = Self.make()
        _ = node.receive(Self.message("b", .heartbeat), now: Self.t0)
        _ = node.receive(Self.message("c", .heartbeat), now: Self.t0)
        _ = node.request(.serverSideEmit(packet: ["ping"], requestId: "e1"), now: Self.t0)
        _ = node.receive(Self.message("b", .serverSideEmitResponse(requestId: "e1", packet: "pong")), now: Self.t0 + .seconds(1))
        #expect(node.tick(now: Self.t0 + .seconds(4)) == [])
        // the request was the last thing published: the heartbeat is due at the same time
        #expect(
            node.tick(now: Self.t0 + .seconds(5))
                == [.publish(.heartbeat), .requestCompleted(requestId: "e1", responses: ["pong"], missing: 1)]
        )
    }

    @Test func aNodeGoingDownCompletesTheRequestsWaitingForIt() {
        var node = Self.make()
        _ = node.receive(Self.message("b", .heartbeat), now: Self.t0)
        _ = node.receive(Self.message("c", .heartbeat), now: Self.t0)
        _ = node.request(.serverSideEmit(packet: ["ping"], requestId: "e1"), now: Self.t0)
        _ = node.receive(Self.message("b", .serverSideEmitResponse(requestId: "e1", packet: 1)), now: Self.t0)
        #expect(
            node.receive(Self.message("c", .adapterClose), now: Self.t0)
                == [.nodeDown(uid: "c"), .requestCompleted(requestId: "e1", responses: [1], missing: 0)]
        )
    }

    @Test func aRequestAloneCompletesAtOnce() {
        var node = Self.make()
        #expect(
            node.request(.fetchSockets(options: .init(), requestId: "f"), now: Self.t0)
                == [.requestCompleted(requestId: "f", responses: [], missing: 0)]
        )
    }

    @Test func stoppingCompletesWhatWaitsAndSaysGoodbye() {
        var node = Self.make()
        _ = node.receive(Self.message("b", .heartbeat), now: Self.t0)
        _ = node.request(.fetchSockets(options: .init(), requestId: "f"), now: Self.t0)
        #expect(node.stop() == [.requestCompleted(requestId: "f", responses: [], missing: 1), .publish(.adapterClose)])
    }
}
