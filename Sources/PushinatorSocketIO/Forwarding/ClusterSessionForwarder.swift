public import EngineIO
public import HTTPTypes
public import Logging
public import PushinatorCluster
public import PushinatorHTTP
import Synchronization

/// Forwards the Engine.IO requests that reach this node for sessions of other nodes of its cluster (no sticky
/// sessions needed): a polling request is sent to the owner's advertised address and its answer relayed; a WebSocket
/// upgrade becomes a byte pipe to the owner after its `101`. A session whose owner is not alive gets the usual 400
/// `Session ID unknown`, so that the client reconnects.
///
/// ```swift
/// let forwarder = ClusterSessionForwarder(cluster: cluster, client: HTTPForwardingClient(eventLoopGroup: group), logger: logger)
/// engine.forwarder = forwarder   // and SocketIOCluster.Configuration.advertisement = forwarder.advertisement(address:)
/// ```
///
/// A forwarded request carries ``forwardedHeader`` with the owner's token (from its heartbeats): a node never
/// forwards such a request again (``isForwarded(_:)`` tells the owner the request came from a node of its cluster).
/// The forwarding node appends the address it saw to `X-Forwarded-For`. Handshakes are never forwarded: a session
/// opens where its first request lands, so its address is the client's as on one node.
public final class ClusterSessionForwarder: EngineIOSessionForwarder {
    /// The header a forwarded request carries: the token the target node advertised.
    public static let forwardedHeader = HTTPField.Name("X-Pushinator-Forwarded")!

    /// The prefix of this node's session ids.
    public let sessionPrefix: String
    /// The secret that requests forwarded to this node carry.
    public let token: String
    private let cluster: SocketIOCluster
    private let client: HTTPForwardingClient
    private let logger: Logger
    private let counts = Mutex(Statistics())

    /// What the forwarder did since start (for metrics).
    public struct Statistics: Sendable, Hashable {
        /// Polling requests forwarded and answered by their session's node.
        public var requests = 0
        /// WebSocket upgrades forwarded (piped, or the owner's refusal relayed).
        public var upgrades = 0
        /// Requests that could not be forwarded (answered 502, 503 or 504).
        public var failures = 0
        /// Requests for sessions of no node alive (answered 400 `Session ID unknown`).
        public var unknownSessions = 0
    }

    /// What the forwarder did since start.
    public var statistics: Statistics { counts.withLock { $0 } }

    /// Creates a forwarder with a new session prefix and token.
    /// - Parameters:
    ///   - cluster: Where the other nodes' advertisements come from.
    ///   - client: The HTTP client that forwards.
    ///   - sessionPrefix: This node's session id prefix; a new random one by default.
    ///   - token: The secret of forwarded requests; a new random one by default.
    ///   - logger: Where forwarding failures are logged.
    public init(
        cluster: SocketIOCluster,
        client: HTTPForwardingClient,
        sessionPrefix: String = EngineIOSessionOwner.makePrefix(),
        token: String = RandomIdentifier.make() + RandomIdentifier.make(),
        logger: Logger
    ) {
        self.cluster = cluster
        self.client = client
        self.sessionPrefix = sessionPrefix
        self.token = token
        self.logger = logger
    }

    /// What this node advertises in its heartbeats.
    /// - Parameter address: This node's internal address for the other nodes (`http://10.0.0.5:8081`).
    public func advertisement(address: String) -> ClusterNodeAdvertisement {
        ClusterNodeAdvertisement(address: address, sessionPrefix: sessionPrefix, token: token)
    }

    /// Whether `request` was forwarded to this node by another node of the cluster (it carries this node's token).
    public func isForwarded(_ request: Request) -> Bool {
        guard let value = request.headers[Self.forwardedHeader] else { return false }
        return Self.constantTimeEquals(value, token)
    }

    public func forward(_ request: Request, context: RequestContext, sid: String) async -> Response? {
        let decision = SessionForwardingDecision(
            sid: sid,
            forwarded: request.headers[Self.forwardedHeader] != nil,
            localPrefix: sessionPrefix,
            liveNodes: cluster.liveNodes
        )
        guard case .forward(let node) = decision else {
            counts.withLock { $0.unknownSessions += 1 }
            logger.debug("request for an unknown session", metadata: ["eio.sid": "\(sid)", "cluster.reason": "\(decision)"])
            return nil
        }
        guard let upstream = HTTPUpstream(address: node.address) else {
            counts.withLock { $0.unknownSessions += 1 }
            logger.warning("cluster node advertises an address that cannot be used", metadata: ["cluster.address": "\(node.address)"])
            return nil
        }
        do {
            let isUpgrade = request.headers[.upgrade] != nil
            let response = try await client.forward(request, context: context, to: upstream, headers: [Self.forwardedHeader: node.token])
            counts.withLock { if isUpgrade { $0.upgrades += 1 } else { $0.requests += 1 } }
            return response
        } catch {
            counts.withLock { $0.failures += 1 }
            logger.warning(
                "cannot forward a request to the node of its session",
                metadata: ["eio.sid": "\(sid)", "http.upstream": "\(upstream)", "error.message": "\(error)"]
            )
            return error.response(for: request)
        }
    }

    static func constantTimeEquals(_ left: String, _ right: String) -> Bool {
        let (a, b) = (Array(left.utf8), Array(right.utf8))
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
