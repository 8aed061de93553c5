import EngineIO
import Logging
import NIOCore
import PushinatorHTTP
import PushinatorCluster
import PushinatorKit
import PushinatorPostgres
import PushinatorSocketIO

extension Pushinator {
    /// The PostgreSQL bus and this node's cluster when `cluster.postgres` is set; the database is tried first, so
    /// that one unreachable at start-up stops the start with a clear message (exit code 6).
    static func openCluster(
        _ settings: PushinatorConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) async throws -> (PostgresClusterTransport?, SocketIOCluster?) {
        guard let options = settings.cluster else { return (nil, nil) }
        let url: PostgresURL
        do {
            url = try PostgresURL(options.postgres)
        } catch {
            throw ConfigurationFailure(message: "cluster.postgres: \(error)")
        }
        var configuration = PostgresClusterConfiguration(url: url, channelPrefix: options.channelPrefix, nodeName: options.nodeName)
        // a client restored on another node replays the log since its disconnection: keep it at least that long
        let recoveryWindow = Duration.milliseconds(settings.recoveryMaxDisconnection) + .seconds(60)
        if settings.recoveryMaxDisconnection > 0, configuration.logRetention < recoveryWindow {
            configuration.logRetention = recoveryWindow
        }
        // on the server's loops: a publish and its answer run where the admin request that made them does
        let transport = try PostgresClusterTransport(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        try await transport.checkReachable()
        let membership = ClusterMembership.Configuration(
            heartbeatInterval: .milliseconds(options.heartbeatInterval),
            heartbeatTimeout: .milliseconds(options.heartbeatTimeout),
            requestTimeout: .milliseconds(options.timeout)
        )
        logger.info("cluster on postgres", metadata: ["postgres.url": "\(url)", "cluster.uid": "\(transport.localUID)"])
        let cluster = SocketIOCluster(
            transport: transport,
            configuration: .init(membership: membership, waitForPublishWhenAlone: options.waitForLog),
            eventLoop: eventLoopGroup.any(),
            logger: logger
        )
        return (transport, cluster)
    }

    /// On a cluster with connection state recovery on, the recovery sessions in PostgreSQL, so that a client
    /// whose node died recovers on another one; `socketIO`'s recovery then keeps its sessions there.
    static func openSessionTable(
        _ settings: PushinatorConfiguration,
        transport: PostgresClusterTransport?,
        socketIO: inout SocketIOConfiguration,
        logger: Logger
    ) -> PostgresSessionTable? {
        guard let transport, let recovery = socketIO.recovery else { return nil }
        let table = PostgresSessionTable(
            configuration: .init(cluster: transport.configuration, maxDisconnectionDuration: recovery.maxDisconnectionDuration),
            transport: transport,
            storageKeys: PushApp.recoveredStorageKeys,
            logger: logger
        )
        socketIO.recovery?.makeStore = { namespace, recovery in table.store(namespace: namespace, recovery: recovery) }
        return table
    }

    /// The PostgreSQL user store (`users.store: 'postgres'` or a URL); unreachable: exit code 6.
    static func openPostgresStore(url text: String, _ settings: PushinatorConfiguration, logger: Logger) async throws(UserStoreError) -> any UserStore {
        let url: PostgresURL
        do {
            url = try PostgresURL(text)
        } catch {
            throw UserStoreError("\(error.message)")
        }
        return try await PostgresUserStore.open(url: url, queueLimits: settings.offlineQueue, logger: logger)
    }
}

extension Pushinator {
    /// In cluster mode: this node's session ids name it, and the Engine.IO requests of the other nodes' sessions
    /// are forwarded to them (no sticky sessions needed).
    static func forwardSessions(of io: SocketIOServer, on cluster: SocketIOCluster?, eventLoopGroup: any EventLoopGroup, logger: Logger)
        -> ClusterSessionForwarder?
    {
        guard let cluster else { return nil }
        let engine = io.engine.configuration
        // a long poll is held up to the ping interval (plus the timeout of its answer); its answer is at most
        // maxPayload bytes, or one packet, which the session's buffer holds: never refuse what the owner drained
        let client = HTTPForwardingClient(
            eventLoopGroup: eventLoopGroup,
            configuration: .init(
                maxResponseBodyBytes: max(engine.maxPayload, engine.maxBufferedBytes, 1 << 20) * 2,
                responseTimeout: engine.pingInterval + engine.pingTimeout + .seconds(10)
            ),
            logger: logger
        )
        let forwarder = ClusterSessionForwarder(cluster: cluster, client: client, logger: logger)
        io.engine.forwarder = forwarder
        return forwarder
    }

    /// Tells the other nodes where this one is, once the client listener is bound (`cluster.advertise`).
    static func advertise(_ forwarder: ClusterSessionForwarder, on cluster: SocketIOCluster, settings: PushinatorConfiguration, bound: SocketAddress, logger: Logger) {
        guard let options = settings.cluster, let port = bound.port else { return }
        guard !settings.useSSL else {  // the forwarding client speaks plain HTTP
            logger.warning("cluster: a TLS client port is not forwarded to: requests of this node's sessions that reach other nodes are refused (Session ID unknown); terminate TLS at the load balancer")
            return
        }
        guard let address = options.advertisedAddress(clientHost: settings.clientHost, clientPort: port) else {
            logger.warning(
                "cluster: this node does not advertise an address (set cluster.advertise): requests of its sessions that reach other nodes are refused (Session ID unknown)",
                metadata: ["client.host": "\(settings.clientHost)"]
            )
            return
        }
        logger.info("cluster: advertising this node", metadata: ["cluster.address": "\(address)", "cluster.sid_prefix": "\(forwarder.sessionPrefix)"])
        cluster.advertise(forwarder.advertisement(address: address))
    }
}
