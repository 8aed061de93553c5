import HTTPTypes
import Logging
import PushinatorCluster
import PushinatorJSON
import PushinatorKit
import PushinatorSocketIO
import PushinatorTesting
import Synchronization
import Testing

/// An in-memory transport whose bus lag the test sets.
final class LaggingTransport: ClusterTransport {
    let base: InMemoryClusterTransport
    let lag = Mutex<Duration?>(nil)
    init(_ base: InMemoryClusterTransport) { self.base = base }
    var localUID: String { base.localUID }
    var events: AsyncStream<ClusterTransportEvent> { base.events }
    var busLag: Duration? { lag.withLock { $0 } }
    func publish(_ message: ClusterMessage) async throws { try await base.publish(message) }
    func subscribe(namespace: String) async throws { try await base.subscribe(namespace: namespace) }
}

/// The admin API of a node whose cluster runs on an in-memory bus (the interop suite runs nodes on PostgreSQL).
@Suite("Admin API on a cluster")
struct AdminClusterTests {
    @Test func digestsTravelAsHex() throws {
        let digest = HashDigest(of: "7f81776793e31d71d1ed71038e78dbf5")
        #expect(digest.hex.count == 64)
        #expect(HashDigest(hex: digest.hex) == digest)
        #expect(HashDigest(hex: "zz" + String(digest.hex.dropFirst(2))) == nil)
        #expect(HashDigest(hex: "ab") == nil)
    }

    @Test func healthShowsTheClusterAndIsDegradedWithoutTheBus() async throws {
        let bus = InMemoryClusterBus()
        let transport = bus.makeTransport()
        let logger = Logger(label: "test.admin-cluster")
        let cluster = SocketIOCluster(transport: transport, logger: logger)
        let io = SocketIOServer(adapter: cluster.adapter, logger: logger)
        let app = PushApp(configuration: .defaults, io: io, cluster: cluster)
        let running = Task { try? await cluster.run() }
        try await AdminRouter(app: app).router.test { admin in
            let healthy = try await admin.execute(.get, "/health")
            #expect(healthy.status == 200)
            #expect(healthy["cluster"]?["nodes"] == 1)
            #expect(healthy["cluster"]?["connected"] == true)
            let send = try await admin.execute(.post, "/user/send", body: #"{"userId": "5", "message": "hi"}"#)
            #expect(send.status == 200)
            #expect(send["delivered"] == 0)

            transport.disconnect()
            for _ in 0..<500 where cluster.status.connected { try await Task.sleep(for: .milliseconds(10)) }
            let degraded = try await admin.execute(.get, "/health")
            #expect(degraded.status == 503)
            #expect(degraded["result"] == "DEGRADED")
            #expect(degraded["cluster"]?["connected"] == false)
            transport.reconnect()
            for _ in 0..<500 where !cluster.status.connected { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try await admin.execute(.get, "/health").status == 200)
        }
        running.cancel()
        await running.value
    }

    @Test func healthIsDegradedWhileTheBusLagsAndShowsTheLag() async throws {
        let bus = InMemoryClusterBus()  // the transports hold it unowned
        let transport = LaggingTransport(bus.makeTransport())
        let logger = Logger(label: "test.admin-cluster")
        let cluster = SocketIOCluster(transport: transport, logger: logger)
        let io = SocketIOServer(adapter: cluster.adapter, logger: logger)
        var configuration = PushinatorConfiguration.defaults
        configuration.cluster = ClusterSettings(postgres: "postgres://db/x", maxBusLag: 200)
        let app = PushApp(configuration: configuration, io: io, cluster: cluster)
        let running = Task { try? await cluster.run() }
        try await AdminRouter(app: app).router.test { admin in
            let unmeasured = try await admin.execute(.get, "/health")
            #expect(unmeasured.status == 200)
            #expect(unmeasured["cluster"]?["busLag"] == .null)
            transport.lag.withLock { $0 = .microseconds(1_500) }
            let fine = try await admin.execute(.get, "/health")
            #expect(fine.status == 200)
            #expect(fine["cluster"]?["busLag"] == 2)  // rounded up
            transport.lag.withLock { $0 = .milliseconds(201) }
            let lagging = try await admin.execute(.get, "/health")
            #expect(lagging.status == 503)
            #expect(lagging["result"] == "DEGRADED")
            #expect(lagging["reason"] == "the cluster bus lags 201 ms (cluster.maxBusLag: 200 ms)")
            #expect(lagging["cluster"]?["busLag"] == 201)
            let stats = try await admin.post("/stats")
            #expect(stats["cluster"]?["busLag"] == 201)
        }
        let metrics = String(decoding: try #require(app.metrics).scrape(app), as: UTF8.self)
        #expect(metrics.contains("pushinator_cluster_bus_lag_milliseconds 201"))
        running.cancel()
        await running.value
        withExtendedLifetime(bus) {}
    }
}
