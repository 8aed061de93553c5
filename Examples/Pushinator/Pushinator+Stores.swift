import Logging
import NIOCore
import PushinatorKit
import PushinatorPostgres
import PushinatorSocketIO
import PushinatorSQLite
import ServiceLifecycle

extension Pushinator {
    /// With `cluster.postgres`: the PostgreSQL bus, this node's cluster on it and, with connection state recovery,
    /// the recovery sessions in PostgreSQL (so that a client whose node died recovers on another one; `socketIO`'s
    /// recovery then keeps its sessions there). The database is tried first: unreachable, the start stops (exit 6).
    static func openCluster(
        _ settings: PushinatorConfiguration,
        socketIO: inout SocketIOConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) async throws -> (cluster: SocketIOCluster?, services: [any Service]) {
        guard let options = settings.cluster, let clusterConfiguration = settings.socketIOClusterConfiguration else { return (nil, []) }
        let url: PostgresURL
        do { url = try PostgresURL(options.postgres) } catch { throw ConfigurationFailure(message: "cluster.postgres: \(error)") }
        var configuration = PostgresClusterConfiguration(url: url, channelPrefix: options.channelPrefix, nodeName: options.nodeName)
        if let retention = settings.minimumClusterLogRetention { configuration.logRetention = max(configuration.logRetention, retention) }
        // on the server's loops: a publish and its answer run where the admin request that made them does
        let transport = try PostgresClusterTransport(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        try await transport.checkReachable()
        logger.info("cluster on postgres", metadata: ["postgres.url": "\(url)", "cluster.uid": "\(transport.localUID)"])
        let cluster = SocketIOCluster(transport: transport, configuration: clusterConfiguration, eventLoop: eventLoopGroup.any(), logger: logger)
        guard let recovery = socketIO.recovery else { return (cluster, [transport, cluster]) }
        let sessions = PostgresSessionTable(
            configuration: .init(cluster: configuration, maxDisconnectionDuration: recovery.maxDisconnectionDuration),
            transport: transport, storageKeys: PushApp.recoveredStorageKeys, logger: logger
        )
        socketIO.recovery?.makeStore = { namespace, recovery in sessions.store(namespace: namespace, recovery: recovery) }
        return (cluster, [transport, cluster, sessions])  // first among the services: they stop after the servers
    }

    /// The store `users.store` names, opened and read; a store that cannot be used stops the start (exit code 6).
    static func openStore(_ settings: PushinatorConfiguration, logger: Logger) async throws(UserStoreError) -> any UserStore {
        switch settings.usersStore {
        case .memory:
            return MemoryUserStore(queueLimits: settings.offlineQueue)
        case .sqlite(let path):
            return try await SQLiteUserStore.open(path: path, queueLimits: settings.offlineQueue, logger: logger)
        case .postgres(let text):  // a URL, or the cluster's database
            let url: PostgresURL
            do { url = try PostgresURL(text ?? settings.cluster?.postgres ?? "") } catch { throw UserStoreError("\(error.message)") }
            return try await PostgresUserStore.open(url: url, queueLimits: settings.offlineQueue, logger: logger)
        }
    }
}
