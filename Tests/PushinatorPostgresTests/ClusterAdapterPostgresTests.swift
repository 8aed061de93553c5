import Logging
import PushinatorCluster
import PushinatorHTTP
import PushinatorJSON
@testable import PushinatorPostgres
import PushinatorSocketIO
import PushinatorTestSupport
import PushinatorTesting
import Testing

/// Two Socket.IO servers whose cluster adapters talk through the PostgreSQL transport.
@Suite("Cluster adapter on PostgreSQL", .enabled(if: TestDatabase.available), .serialized)
struct ClusterAdapterPostgresTests {
    struct Node {
        let transport: PostgresClusterTransport
        let io: SocketIOServer
        let router: Router
        let task: Task<Void, Never>
        var main: Namespace { io.of("/") }
    }

    static func startNode(_ configuration: PostgresClusterConfiguration) throws -> Node {
        let logger = Logger(label: "test.cluster")
        let transport = try PostgresClusterTransport(configuration: configuration, logger: logger)
        let cluster = SocketIOCluster(
            transport: transport,
            configuration: .init(membership: .init(heartbeatInterval: .seconds(1), heartbeatTimeout: .seconds(5), requestTimeout: .seconds(3))),
            logger: logger
        )
        let io = SocketIOServer(adapter: cluster.adapter, logger: logger)
        let task = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { try? await transport.run() }
                group.addTask { try? await cluster.run() }
            }
        }
        return Node(transport: transport, io: io, router: Router { io.routes(at: "socket.io") }, task: task)
    }

    @Test func broadcastsAndCountsCrossTheDatabase() async throws {
        var configuration = try TestDatabase.configuration()
        let a = try Self.startNode(configuration)
        configuration.localUID = PostgresClusterConfiguration.randomUID()
        let b = try Self.startNode(configuration)
        try await waitUntil("the nodes hear each other", seconds: 20) {
            (a.main.adapter as? ClusterAdapter)?.serverCount == 2 && (b.main.adapter as? ClusterAdapter)?.serverCount == 2
        }
        try await b.router.test { http in
            let client = try await SocketIOTestClient.connect(to: http)
            b.main.socket(id: client.id)?.join("user:7")
            // a broadcast and a counted one (large messages: PostgresClusterTransportTests, which counts attachment rows)
            a.main.to("user:7").emit("news", "hello")
            let count = await a.main.to("user:7", "user:8").emitCounting("news", ["counted"])
            #expect(count == BroadcastCount(delivered: 1, reachedRooms: ["user:7"]))
            let events = try await client.nextEvents(2).map(\.data)
            #expect(events == [["news", "hello"], ["news", "counted"]])
            #expect(await a.main.clientCount() == 1)
            await client.close()
        }
        a.task.cancel()
        b.task.cancel()
        await a.task.value
        await b.task.value
    }
}
