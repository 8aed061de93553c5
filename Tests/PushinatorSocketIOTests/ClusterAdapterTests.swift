import EngineIO
import Logging
import PushinatorCluster
import PushinatorHTTP
import PushinatorJSON
@testable import PushinatorSocketIO
import PushinatorTestSupport
import PushinatorTesting
import Synchronization
import Testing

/// Servers in one process on an ``InMemoryClusterBus``, each with its cluster running, reached in process by
/// Socket.IO clients over polling.
final class TestCluster: Sendable {
    struct Node: Sendable {
        let io: SocketIOServer
        let cluster: SocketIOCluster
        let transport: InMemoryClusterTransport
        let router: Router
        let task: Task<Void, Never>
        var main: Namespace { io.of("/") }
        var adapter: ClusterAdapter { main.adapter as! ClusterAdapter }
    }

    let bus = InMemoryClusterBus()
    let nodes: [Node]

    init(
        servers: Int,
        membership: ClusterMembership.Configuration = .init(heartbeatInterval: .seconds(5), heartbeatTimeout: .seconds(10), requestTimeout: .seconds(2))
    ) async throws {
        let logger = Logger(label: "test.cluster")
        var nodes: [Node] = []
        for _ in 0..<servers {
            let transport = bus.makeTransport()
            let cluster = SocketIOCluster(transport: transport, configuration: .init(membership: membership), logger: logger)
            let io = SocketIOServer(adapter: cluster.adapter, logger: logger)
            let router = Router { io.routes(at: "socket.io") }
            let task = Task { do { try await cluster.run() } catch {} }
            nodes.append(Node(io: io, cluster: cluster, transport: transport, router: router, task: task))
        }
        self.nodes = nodes
        try await waitUntil("\(servers) servers know each other", seconds: 10) { nodes.allSatisfy { $0.adapter.serverCount == servers } }
    }

    func stop() async {
        for node in nodes {
            node.task.cancel()
            await node.task.value
        }
    }

    /// Runs `body` with one connected client per server, the servers' routers called in process.
    func withClients(_ body: @escaping ([SocketIOTestClient]) async throws -> Void) async throws {
        try await connect(Array(nodes.indices), clients: [], body)
    }

    private func connect(_ remaining: [Int], clients: [SocketIOTestClient], _ body: @escaping ([SocketIOTestClient]) async throws -> Void) async throws {
        guard let index = remaining.first else { return try await body(clients) }
        try await nodes[index].router.test { http in
            let client = try await SocketIOTestClient.connect(to: http)
            do {
                try await self.connect(Array(remaining.dropFirst()), clients: clients + [client], body)
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        }
    }
}

@Suite("Cluster adapter on an in-memory bus")
struct ClusterAdapterTests {
    @Test func broadcastsReachRoomsOnEveryServerExceptTheExcluded() async throws {
        let cluster = try await TestCluster(servers: 3)
        try await cluster.withClients { (clients) async throws in
            let (a, b, c) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
            b.main.socket(id: clients[1].id)?.join("news")
            c.main.socket(id: clients[2].id)?.join(["news", "muted"])
            a.main.socket(id: clients[0].id)?.join("news")
            // to "news" except "muted": this server's socket and b's, not c's; then everyone: c gets that one only
            #expect(a.main.to("news").except("muted").emit("news", "one") == 1)
            #expect(a.main.emit("all", "two") == 1)
            #expect(try await clients[0].nextEvents(2).map(\.data) == [["news", "one"], ["all", "two"]])
            #expect(try await clients[1].nextEvents(2).map(\.data) == [["news", "one"], ["all", "two"]])
            #expect(try await clients[2].nextEvents(1).map(\.data) == [["all", "two"]])
            // local: this server only; the next event shows b got nothing in between
            a.main.to("news").local.emit("local", "three")
            b.main.emit("after", "four")
            #expect(try await clients[1].nextEvents(1).map(\.data) == [["after", "four"]])
            #expect(try await clients[0].nextEvents(2).map(\.data) == [["local", "three"], ["after", "four"]])
        }
        await cluster.stop()
    }

    @Test func roomChangesAndDisconnectsApplyToMatchingSocketsOnEveryServer() async throws {
        let cluster = try await TestCluster(servers: 2)
        try await cluster.withClients { (clients) async throws in
            let (a, b) = (cluster.nodes[0], cluster.nodes[1])
            await a.main.to(clients[1].id).socketsJoin("vip")  // published; b applies it when the bus delivers it
            try await waitUntil("b joins its socket to vip") { b.main.rooms["vip"] == [clients[1].id] }
            a.main.to("vip").emit("vip", "welcome")
            #expect(try await clients[1].nextEvents(1).map(\.data) == [["vip", "welcome"]])
            await a.main.to("vip").socketsLeave("vip")
            try await waitUntil("b makes its socket leave vip") { b.main.rooms["vip"] == nil }
            await a.main.to(clients[1].id).disconnectSockets()
            #expect(try await clients[1].disconnected() == "io server disconnect")
            #expect(b.main.socketCount == 0)
            #expect(a.main.socketCount == 1)
        }
        await cluster.stop()
    }

    @Test func fetchSocketsServerSideEmitAndClientCountAskEveryServer() async throws {
        let cluster = try await TestCluster(servers: 3)
        try await cluster.withClients { (clients) async throws in
            let (a, b, c) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
            b.main.socket(id: clients[1].id)?.data = ["user": "5"]
            b.main.socket(id: clients[1].id)?.join("team")
            c.main.socket(id: clients[2].id)?.join("team")
            let team = await a.main.to("team").fetchSockets()
            #expect(Set(team.map(\.id)) == [clients[1].id, clients[2].id])
            #expect(team.first { $0.id == clients[1].id }?.data == ["user": "5"])
            #expect(team.first { $0.id == clients[1].id }?.rooms == [clients[1].id, "team"])
            #expect(await a.main.to().fetchSockets().count == 3)

            b.main.onServerSideEmit("ping") { arguments in .string("pong from b: \(arguments.first?.int ?? -1)") }
            c.main.onServerSideEmit("ping") { _ in "pong from c" }
            let answers = await a.main.serverSideEmit("ping", [7])
            #expect(Set(answers.compactMap { $0.first?.string }) == ["pong from b: 7", "pong from c"])
            #expect(await a.main.clientCount() == 3)
        }
        await cluster.stop()
    }

    @Test func aServerSideEmitWithoutAnswersRunsTheOtherServersHandlersAndAsksForNoAnswer() async throws {
        let cluster = try await TestCluster(servers: 2)
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let observer = cluster.bus.makeTransport()  // sees what goes over the bus
        try await observer.subscribe(namespace: "/")
        let seen = Mutex<[ClusterMessage]>([])
        let watching = Task {
            for await event in observer.events { if case .message(let message) = event { seen.withLock { $0.append(message) } } }
        }
        let received = Mutex<[JSONValue]>([])
        b.main.onServerSideEmit("note") { arguments in
            received.withLock { $0 += arguments }
            return "an answer nobody asked for"
        }
        a.main.serverSideEmitWithoutAnswers("note", [7])  // returns at once
        try await waitUntil("the other server handled the event", seconds: 10) { received.withLock { $0 } == [7] }
        try await Task.sleep(for: .milliseconds(300))  // an answer, had one been asked for, would be on the bus by now
        watching.cancel()
        let messages = seen.withLock { $0 }.filter { $0.type == .serverSideEmit || $0.type == .serverSideEmitResponse }
        #expect(messages.map(\.type) == [.serverSideEmit])
        #expect(messages.first?.body == .serverSideEmit(packet: ["note", 7], requestId: nil))
        await cluster.stop()
    }

    @Test func broadcastsWithAcknowledgementsCountTheClientsOfEveryServer() async throws {
        let cluster = try await TestCluster(servers: 2)
        try await cluster.withClients { (clients) async throws in
            let a = cluster.nodes[0]
            async let acks = a.main.emitWithAck("question", ["?"], timeout: .seconds(5))
            for client in clients {
                let event = try #require(try await client.nextEvents(1).first)
                #expect(event.data == ["question", "?"])
                let id = try #require(event.ackID)
                #expect(id >= 0)
                try await client.ack(event, [.string("answer from \(client.id)")])
            }
            let result = await acks
            #expect(result.expected == 2)
            #expect(Set(result.responses.compactMap { $0.first?.string }) == Set(clients.map { "answer from \($0.id)" }))
        }
        await cluster.stop()
    }

    @Test func countingBroadcastsAddUpEveryServerAndSayWhichDidNotAnswer() async throws {
        let cluster = try await TestCluster(servers: 3)
        try await cluster.withClients { (clients) async throws in
            let (a, b, c) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
            b.main.socket(id: clients[1].id)?.join("user:5")
            c.main.socket(id: clients[2].id)?.join("user:5")
            let count = await a.main.to("user:5", "user:6").emitCounting("message", ["hi"])
            #expect(count == BroadcastCount(delivered: 2, reachedRooms: ["user:5"]))
            #expect(try await clients[1].nextEvents(1).map(\.data) == [["message", "hi"]])
            #expect(try await clients[2].nextEvents(1).map(\.data) == [["message", "hi"]])
            // c cannot hear the bus: its answer is missing after the request timeout
            c.transport.disconnect()
            let partial = await a.main.to("user:5").emitCounting("message", ["again"])
            #expect(partial.delivered == 1)
            #expect(partial.missingServers == 1)
            #expect(!partial.isComplete)
            c.transport.reconnect()
        }
        await cluster.stop()
    }

    @Test func broadcastsPublishedWhileTheBusIsDownGoOutInOrderOnceItIsBack() async throws {
        let cluster = try await TestCluster(servers: 2)
        try await cluster.withClients { (clients) async throws in
            let (a, b) = (cluster.nodes[0], cluster.nodes[1])
            b.main.socket(id: clients[1].id)?.join("room")
            a.transport.disconnect()  // a cannot publish: its outbox retries and holds the rest behind
            for number in 0..<5 { a.main.to("room").emit("n", .integer(number)) }
            #expect(a.cluster.status.pendingPublishes >= 4)
            a.transport.reconnect()
            #expect(try await clients[1].nextEvents(5).map(\.data) == (0..<5).map { ["n", .integer($0)] })
            #expect(a.cluster.status.droppedPublishes == 0)
        }
        await cluster.stop()
    }

    @Test func heartbeatsCountServersAndAServerThatLeavesIsForgotten() async throws {
        let cluster = try await TestCluster(servers: 3)
        #expect(cluster.nodes[0].cluster.status.servers == 3)
        cluster.nodes[2].task.cancel()  // graceful: ADAPTER_CLOSE
        await cluster.nodes[2].task.value
        try await waitUntil("the others forget the third", seconds: 10) { cluster.nodes[0].adapter.serverCount == 2 && cluster.nodes[1].adapter.serverCount == 2 }
        await cluster.stop()
    }

    @Test func aSilentServerIsDownAfterTheHeartbeatTimeout() async throws {
        let cluster = try await TestCluster(
            servers: 2,
            membership: .init(heartbeatInterval: .milliseconds(100), heartbeatTimeout: .milliseconds(400), requestTimeout: .seconds(1))
        )
        cluster.nodes[1].transport.disconnect()
        try await waitUntil("a notices b is gone", seconds: 10) { cluster.nodes[0].adapter.serverCount == 1 }
        cluster.nodes[1].transport.reconnect()  // its next heartbeat brings it back
        try await waitUntil("a hears b again", seconds: 10) { cluster.nodes[0].adapter.serverCount == 2 }
        await cluster.stop()
    }

    @Test func theEmittersBroadcastsReachTheRoom() async throws {
        let cluster = try await TestCluster(servers: 1)
        let emitter = cluster.bus.makeTransport()
        try await cluster.withClients { (clients) async throws in
            cluster.nodes[0].main.socket(id: clients[0].id)?.join("user:9")
            let packet: JSONValue = ["type": 2, "data": ["message", "from php"], "nsp": "/"]
            try await emitter.publish(
                ClusterMessage(uid: ClusterMessage.emitterUID, nsp: "/", body: .broadcast(packet: packet, options: .init(rooms: ["user:9"])))
            )
            #expect(try await clients[0].nextEvents(1).map(\.data) == [["message", "from php"]])
            #expect(cluster.nodes[0].adapter.serverCount == 1)  // an emitter is not a server
        }
        await cluster.stop()
    }

    @Test func packetsKeepTheirShapeOnTheWire() {
        let packet = SocketIOPacket.event("news", ["x"], namespace: "/chat", ackID: 4)
        let json = ClusterPacketCoding.json(of: packet)
        #expect(json.jsonString == #"{"type":2,"data":["news","x"],"nsp":"/chat","id":4}"#)
        #expect(ClusterPacketCoding.event(from: json, namespace: "/chat") == packet)
        #expect(ClusterPacketCoding.event(from: ["type": 0, "nsp": "/"], namespace: "/") == nil)
        let options = ClusterPacketCoding.options(BroadcastTarget(rooms: ["b", "a"], except: ["c"]), flags: .init(volatile: true), timeout: .milliseconds(1500))
        #expect(options == ClusterBroadcastOptions(rooms: ["a", "b"], except: ["c"], flags: .init(volatile: true, timeout: 1500)))
    }
}
