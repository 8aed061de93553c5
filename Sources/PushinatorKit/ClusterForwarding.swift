public import EngineIO
public import Logging
public import NIOCore
public import PushinatorHTTP
public import PushinatorSocketIO

/// In cluster mode, how a node serves the Engine.IO requests of sessions that other nodes own (no sticky sessions
/// needed): this node's session ids name it, a request for another node's session is forwarded to that node, and
/// once the client listener is bound this node advertises its address to the others (`cluster.advertise`).
public struct ClusterForwarding: Sendable {
    /// The forwarder installed on the Engine.IO server.
    public let forwarder: ClusterSessionForwarder
    let cluster: SocketIOCluster
    let logger: Logger

    /// Installs a forwarder on `io`'s Engine.IO server, with a client sized for its sessions
    /// (``clientConfiguration(for:)``).
    /// - Parameters:
    ///   - io: The Socket.IO server of the client port.
    ///   - cluster: This node's cluster (where the other nodes' addresses come from).
    ///   - eventLoopGroup: The loops of the forwarding client.
    ///   - logger: Where forwarding failures and the advertisement are logged.
    public init(io: SocketIOServer, cluster: SocketIOCluster, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        let configuration = Self.clientConfiguration(for: io.engine.configuration)
        let client = HTTPForwardingClient(eventLoopGroup: eventLoopGroup, configuration: configuration, logger: logger)
        self.forwarder = ClusterSessionForwarder(cluster: cluster, client: client, logger: logger)
        self.cluster = cluster
        self.logger = logger
        io.engine.forwarder = forwarder
    }

    /// The forwarding client's limits for sessions configured as `engine`: a long poll is held up to the ping
    /// interval (plus the timeout of its answer); its answer is at most `maxPayload` bytes, or one packet, which the
    /// session's buffer holds: never refuse what the owner drained.
    public static func clientConfiguration(for engine: EngineIOConfiguration) -> HTTPForwardingClient.Configuration {
        HTTPForwardingClient.Configuration(
            maxResponseBodyBytes: max(engine.maxPayload, engine.maxBufferedBytes, 1 << 20) * 2,
            responseTimeout: engine.pingInterval + engine.pingTimeout + .seconds(10)
        )
    }

    /// What this node advertises once its client listener is bound to `port`.
    public enum Advertisement: Sendable, Equatable {
        /// This internal address (`http://10.0.0.5:8081`).
        case address(String)
        /// Nothing: the other nodes refuse requests of this node's sessions (`Session ID unknown`), for this reason.
        case none(reason: String)
    }

    /// What a node configured with `settings`, whose client listener is bound to `port`, advertises: the
    /// `cluster.advertise` address, else the listener's when it is not a wildcard; nothing on a TLS client port
    /// (the forwarding client speaks plain HTTP).
    public static func advertisement(settings: PushinatorConfiguration, port: Int) -> Advertisement {
        guard !settings.useSSL else {
            return .none(reason: "a TLS client port is not forwarded to: requests of this node's sessions that reach other nodes are refused (Session ID unknown); terminate TLS at the load balancer")
        }
        guard let address = settings.cluster?.advertisedAddress(clientHost: settings.clientHost, clientPort: port) else {
            return .none(reason: "this node does not advertise an address (set cluster.advertise): requests of its sessions that reach other nodes are refused (Session ID unknown)")
        }
        return .address(address)
    }

    /// Tells the other nodes where this one is (``advertisement(settings:port:)``), or logs a warning saying why not.
    /// - Parameters:
    ///   - settings: The running configuration.
    ///   - bound: The address the client listener is bound to.
    public func advertise(settings: PushinatorConfiguration, bound: SocketAddress) {
        guard settings.cluster != nil, let port = bound.port else { return }
        switch Self.advertisement(settings: settings, port: port) {
        case .address(let address):
            logger.info("cluster: advertising this node", metadata: ["cluster.address": "\(address)", "cluster.sid_prefix": "\(forwarder.sessionPrefix)"])
            cluster.advertise(forwarder.advertisement(address: address))
        case .none(let reason):
            logger.warning("cluster: \(reason)", metadata: settings.useSSL ? [:] : ["client.host": "\(settings.clientHost)"])
        }
    }
}
