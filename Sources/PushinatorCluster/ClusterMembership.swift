public import PushinatorJSON

/// The protocol logic of socket.io's `ClusterAdapterWithHeartbeat` for one namespace, as a value-type state machine:
/// which nodes are alive (heartbeats), what to answer, which messages to hand to the adapter, and the requests that
/// wait for every other node (fetch sockets, server-side emit with acknowledgements). It does no I/O: time comes in
/// as `now`, and what to do goes out as ``Action``s, which a driver carries out over a ``ClusterTransport``.
///
/// ```swift
/// var membership = ClusterMembership(localUID: transport.localUID, namespace: "/")
/// perform(membership.start(now: clock.now))                 // publishes INITIAL_HEARTBEAT
/// perform(membership.receive(message, now: clock.now))      // for each message from the transport
/// perform(membership.tick(now: clock.now))                  // at membership.nextDeadline
/// ```
public struct ClusterMembership: Sendable {
    /// The timings; the defaults are socket.io's.
    public struct Configuration: Sendable, Hashable {
        /// A node publishes a heartbeat when it published nothing for this long. Default 5 s.
        public var heartbeatInterval: Duration
        /// A node not heard from for longer is considered down. Default 10 s.
        public var heartbeatTimeout: Duration
        /// A request still missing answers after this long completes with what it has. Default 5 s.
        public var requestTimeout: Duration

        /// Creates timings.
        /// - Parameters:
        ///   - heartbeatInterval: The longest silence before a heartbeat.
        ///   - heartbeatTimeout: The silence after which another node is down.
        ///   - requestTimeout: How long a request waits for the other nodes.
        public init(
            heartbeatInterval: Duration = .seconds(5),
            heartbeatTimeout: Duration = .seconds(10),
            requestTimeout: Duration = .seconds(5)
        ) {
            self.heartbeatInterval = heartbeatInterval
            self.heartbeatTimeout = heartbeatTimeout
            self.requestTimeout = requestTimeout
        }
    }

    /// What the driver does.
    public enum Action: Sendable, Hashable {
        /// Publish a message with this body (uid and namespace are this node's).
        case publish(ClusterMessage.Body)
        /// Apply a message from another node (a broadcast, a room change, a request to answer, an
        /// acknowledgement count or an acknowledgement).
        case apply(ClusterMessage)
        /// A node went down (its ADAPTER_CLOSE, or silent beyond the heartbeat timeout).
        case nodeDown(uid: String)
        /// A request finished: every node answered (`missing` 0), or it timed out. `responses` are the sockets of
        /// FETCH_SOCKETS_RESPONSE messages, or the packets of SERVER_SIDE_EMIT_RESPONSE messages, in arrival order.
        case requestCompleted(requestId: String, responses: [JSONValue], missing: Int)
    }

    private struct Request: Sendable {
        var type: ClusterMessageType
        var missing: Set<String>
        var responses: [JSONValue]
        var deadline: ContinuousClock.Instant
    }

    /// This node's uid (its own messages are ignored).
    public let localUID: String
    /// The namespace.
    public let namespace: String
    /// The timings.
    public let configuration: Configuration
    /// The other nodes alive, with when each was last heard from.
    public private(set) var nodes: [String: ContinuousClock.Instant] = [:]
    private var heartbeatDue: ContinuousClock.Instant?
    private var requests: [String: Request] = [:]

    /// Creates the state of a node that has not started.
    /// - Parameters:
    ///   - localUID: This node's uid.
    ///   - namespace: The namespace.
    ///   - configuration: The timings.
    public init(localUID: String, namespace: String, configuration: Configuration = .init()) {
        self.localUID = localUID
        self.namespace = namespace
        self.configuration = configuration
    }

    /// How many servers the cluster has, this one included (socket.io's `serverCount()`).
    public var serverCount: Int { 1 + nodes.count }

    /// The ids of the requests still waiting.
    public var pendingRequests: Set<String> { Set(requests.keys) }

    /// When ``tick(now:)`` must run next: a heartbeat due, a node that may be down, a request timing out.
    public var nextDeadline: ContinuousClock.Instant? {
        let candidates = [heartbeatDue] + nodes.values.map { $0 + configuration.heartbeatTimeout }
            + requests.values.map(\.deadline)
        return candidates.compactMap { $0 }.min()
    }

    /// The node starts: it announces itself (the others answer with a heartbeat).
    public mutating func start(now: ContinuousClock.Instant) -> [Action] {
        publishing(.initialHeartbeat, now: now)
    }

    /// The node stops: it tells the others at once.
    public mutating func stop() -> [Action] {
        heartbeatDue = nil
        let completed = requests.sorted { $0.key < $1.key }.map {
            Action.requestCompleted(requestId: $0.key, responses: $0.value.responses, missing: $0.value.missing.count)
        }
        requests = [:]
        return completed + [.publish(.adapterClose)]
    }

    /// Records that this node published something (any message postpones the next heartbeat).
    public mutating func published(now: ContinuousClock.Instant) {
        heartbeatDue = now + configuration.heartbeatInterval
    }

    /// A message from the transport.
    public mutating func receive(_ message: ClusterMessage, now: ContinuousClock.Instant) -> [Action] {
        // socket.io has one adapter (and uid) per namespace: a message of another namespace is not ours to count
        guard message.uid != localUID, message.nsp == namespace else { return [] }
        // the emitters are not nodes: they do not count and never answer
        if message.uid != ClusterMessage.emitterUID { nodes[message.uid] = now }
        switch message.body {
        case .initialHeartbeat:
            return publishing(.heartbeat, now: now)
        case .heartbeat:
            return []
        case .adapterClose:
            return removeNode(message.uid)
        default:
            break
        }
        switch message.body {
        case .fetchSocketsResponse(let requestId, let sockets):
            return answer(requestId, from: message.uid, with: sockets)
        case .serverSideEmitResponse(let requestId, let packet):
            return answer(requestId, from: message.uid, with: [packet])
        default:
            return [.apply(message)]
        }
    }

    /// Starts a request that every other node answers (``ClusterMessageType/fetchSockets`` or
    /// ``ClusterMessageType/serverSideEmit`` with a request id) and returns the message to publish; when no
    /// other node is alive, it completes at once instead.
    /// - Parameters:
    ///   - body: ``ClusterMessage/Body/fetchSockets(options:requestId:)`` or
    ///     ``ClusterMessage/Body/serverSideEmit(packet:requestId:)`` with a request id.
    ///   - now: The time.
    public mutating func request(_ body: ClusterMessage.Body, now: ContinuousClock.Instant) -> [Action] {
        let requestId: String
        switch body {
        case .fetchSockets(_, let id): requestId = id
        case .serverSideEmit(_, let id?): requestId = id
        default: preconditionFailure("only FETCH_SOCKETS and SERVER_SIDE_EMIT with a request id wait for answers")
        }
        guard !nodes.isEmpty else { return [.requestCompleted(requestId: requestId, responses: [], missing: 0)] }
        requests[requestId] = Request(
            type: body.type,
            missing: Set(nodes.keys),
            responses: [],
            deadline: now + configuration.requestTimeout
        )
        return publishing(body, now: now)
    }

    /// Time passed: the heartbeat when due, nodes silent beyond the timeout, requests past their deadline.
    public mutating func tick(now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        if let due = heartbeatDue, due <= now { actions += publishing(.heartbeat, now: now) }
        for (uid, lastSeen) in nodes.sorted(by: { $0.key < $1.key }) where now - lastSeen > configuration.heartbeatTimeout {
            actions += removeNode(uid)
        }
        // only the expired ones are sorted (in id order, for a deterministic order of the actions): under load
        // hundreds of requests wait, and sorting them all at every tick was a few percent of a busy node's CPU
        let expired = requests.filter { $0.value.deadline <= now }
        for (requestId, request) in expired.sorted(by: { $0.key < $1.key }) {
            requests[requestId] = nil
            actions.append(.requestCompleted(requestId: requestId, responses: request.responses, missing: request.missing.count))
        }
        return actions
    }

    private mutating func publishing(_ body: ClusterMessage.Body, now: ContinuousClock.Instant) -> [Action] {
        published(now: now)
        return [.publish(body)]
    }

    private mutating func answer(_ requestId: String, from uid: String, with responses: [JSONValue]) -> [Action] {
        guard var request = requests[requestId], request.missing.remove(uid) != nil else { return [] }
        request.responses += responses
        if request.missing.isEmpty {
            requests[requestId] = nil
            return [.requestCompleted(requestId: requestId, responses: request.responses, missing: 0)]
        }
        requests[requestId] = request
        return []
    }

    private mutating func removeNode(_ uid: String) -> [Action] {
        guard nodes.removeValue(forKey: uid) != nil else { return [] }
        var actions: [Action] = [.nodeDown(uid: uid)]
        for (requestId, var request) in requests.sorted(by: { $0.key < $1.key }) {
            guard request.missing.remove(uid) != nil else { continue }
            if request.missing.isEmpty {
                requests[requestId] = nil
                actions.append(.requestCompleted(requestId: requestId, responses: request.responses, missing: 0))
            } else {
                requests[requestId] = request
            }
        }
        return actions
    }
}
