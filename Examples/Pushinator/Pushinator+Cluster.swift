import Logging
import PushinatorCluster
import PushinatorKit
import PushinatorPostgres
import PushinatorSocketIO

extension Pushinator {
    /// The PostgreSQL bus and this node's cluster when `cluster.postgres` is set; the database is tried first, so
    /// that one unreachable at start-up stops the start with a clear message (exit code 6).
    static func openCluster(_ settings: PushinatorConfiguration, logger: Logger) async throws -> (PostgresClusterTransport?, SocketIOCluster?) {
        guard let options = settings.cluster else { return (nil, nil) }
        let url: PostgresURL
        do {
            url = try PostgresURL(options.postgres)
        } catch {
            throw ConfigurationFailure(message: "cluster.postgres: \(error)")
        }
        let configuration = PostgresClusterConfiguration(url: url, channelPrefix: options.channelPrefix, nodeName: options.nodeName)
        let transport = try PostgresClusterTransport(configuration: configuration, logger: logger)
        try await transport.checkReachable()
        let membership = ClusterMembership.Configuration(
            heartbeatInterval: .milliseconds(options.heartbeatInterval),
            heartbeatTimeout: .milliseconds(options.heartbeatTimeout),
            requestTimeout: .milliseconds(options.timeout)
        )
        logger.info("cluster on postgres", metadata: ["postgres.url": "\(url)", "cluster.uid": "\(transport.localUID)"])
        return (transport, SocketIOCluster(transport: transport, configuration: .init(membership: membership), logger: logger))
    }
}
