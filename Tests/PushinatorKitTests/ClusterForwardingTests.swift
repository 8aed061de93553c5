import EngineIO
import Logging
import NIOCore
import NIOEmbedded
import PushinatorCluster
import PushinatorHTTP
import PushinatorKit
import PushinatorSocketIO
import Testing

@Suite("ClusterForwarding")
struct ClusterForwardingTests {
    func settings(advertise: String? = nil, clientHost: String = "0.0.0.0", useSSL: Bool = false) -> PushinatorConfiguration {
        var settings = PushinatorConfiguration.defaults
        settings.cluster = ClusterSettings(postgres: "postgres://db/push", advertise: advertise)
        settings.clientHost = clientHost
        settings.useSSL = useSSL
        return settings
    }

    @Test func aNodeAdvertisesItsConfiguredOrBoundAddressAndNothingOverTLS() {
        #expect(ClusterForwarding.advertisement(settings: settings(advertise: "10.0.0.5"), port: 8081) == .address("http://10.0.0.5:8081"))
        #expect(ClusterForwarding.advertisement(settings: settings(clientHost: "10.0.0.6"), port: 9601) == .address("http://10.0.0.6:9601"))
        guard case .none(let wildcard) = ClusterForwarding.advertisement(settings: settings(), port: 9601) else {
            Issue.record("a wildcard listener has no address to advertise")
            return
        }
        #expect(wildcard.contains("set cluster.advertise"))
        guard case .none(let tls) = ClusterForwarding.advertisement(settings: settings(advertise: "10.0.0.5", useSSL: true), port: 443) else {
            Issue.record("a TLS client port is not forwarded to")
            return
        }
        #expect(tls.contains("terminate TLS at the load balancer"))
    }

    @Test func theForwardingClientHoldsALongPollAndItsLargestAnswer() {
        let engine = EngineIOConfiguration(pingInterval: .seconds(25), pingTimeout: .seconds(20), maxPayload: 1_000_000)
        let client = ClusterForwarding.clientConfiguration(for: engine)
        #expect(client.responseTimeout == .seconds(55))
        #expect(client.maxResponseBodyBytes >= 2 * max(engine.maxPayload, engine.maxBufferedBytes))
    }

    @Test func theForwarderIsInstalledAndTheBoundAddressAdvertised() async throws {
        let logger = Logger(label: "test.cluster-forwarding")
        let loops = EmbeddedEventLoop()  // the forwarding client connects only when a request is forwarded
        let cluster = SocketIOCluster(transport: InMemoryClusterBus().makeTransport(), logger: logger)
        let io = SocketIOServer(adapter: cluster.adapter, logger: logger)
        let forwarding = ClusterForwarding(io: io, cluster: cluster, eventLoopGroup: loops, logger: logger)
        #expect(io.engine.forwarder != nil)
        #expect(cluster.advertisement == nil)
        forwarding.advertise(settings: settings(clientHost: "127.0.0.1"), bound: try SocketAddress(ipAddress: "127.0.0.1", port: 9601))
        #expect(cluster.advertisement?.address == "http://127.0.0.1:9601")
        #expect(cluster.advertisement?.sessionPrefix == forwarding.forwarder.sessionPrefix)
    }
}
