public import EngineIO
import Logging
import PushinatorCluster
public import PushinatorJSON
import Synchronization

/// The ``SocketIOAdapter`` of a namespace on a cluster of servers: socket.io's `ClusterAdapterWithHeartbeat`
/// (`socket.io-adapter/lib/cluster-adapter.ts`) over a ``ClusterTransport``.
///
/// This server's sockets are kept by an ``InMemoryAdapter`` (``local``), session-aware when connection state
/// recovery is on, so the local fast path is the same as on one server. Every operation on many sockets is also
/// published as a cluster message, which the other servers apply to their own sockets: broadcasts (rooms, except,
/// volatile), room changes and disconnects of matching sockets, fetches, server-side emits with answers, broadcasts
/// with acknowledgements (each server reports its client count, then each acknowledgement). Heartbeats tell each
/// server how many others are alive (``serverCount``); requests that wait for every server complete when all
/// answered, when the missing ones went down, or after the cluster's request timeout with what arrived.
///
/// Made by ``SocketIOCluster``; events broadcast by the socket.io emitters (uid `emitter`) are applied too.
public final class ClusterAdapter: SocketIOAdapter {
    /// The reserved server-side event of ``broadcastCounting(_:to:flags:)``: the other servers broadcast and
    /// answer `{"count": n, "rooms": [...]}` (servers without it, such as Node ones, do not answer).
    public static let countingBroadcastEvent = "pushinator:broadcast"
    /// The reserved server-side event of ``clientCount()``: the other servers answer their socket count.
    public static let clientCountEvent = "pushinator:client-count"

    /// This server's sockets and rooms.
    public let local: InMemoryAdapter
    /// The namespace.
    public let namespace: String
    let cluster: SocketIOCluster
    let serverSideEvents: ServerSideEvents
    let state: Mutex<State>

    struct State {
        var membership: ClusterMembership
        var requests: [String: CheckedContinuation<RequestResult, Never>] = [:]
        var ackRequests: [String: RemoteAcks] = [:]
    }

    struct RequestResult {
        var responses: [JSONValue]
        var missing: Int
        var notPublished = false
    }

    /// The other servers' side of one broadcast with acknowledgements.
    struct RemoteAcks {
        var waiting: Set<String>
        var expected = 0
        var responses: [[JSONValue]] = []
        var continuation: CheckedContinuation<RemoteAcks, Never>?

        var isComplete: Bool { waiting.isEmpty && responses.count >= expected }
    }

    init(context: AdapterContext, cluster: SocketIOCluster) {
        self.local = InMemoryAdapter(context: context)
        self.namespace = context.namespace
        self.cluster = cluster
        self.serverSideEvents = context.serverSideEvents
        self.state = Mutex(
            State(
                membership: ClusterMembership(
                    localUID: cluster.uid,
                    namespace: context.namespace,
                    configuration: cluster.configuration.membership
                )
            )
        )
    }

    /// The servers alive, this one included (socket.io's `serverCount()`).
    public var serverCount: Int { state.withLock { $0.membership.serverCount } }

    // MARK: This process's sockets

    public func add(_ socket: Socket) -> [EngineIOEncodedPacket] { local.add(socket) }
    public func remove(_ socket: Socket) { local.remove(socket) }
    public func join(_ socket: Socket, rooms: [String]) { local.join(socket, rooms: rooms) }
    public func leave(_ socket: Socket, room: String) { local.leave(socket, room: room) }
    public func rooms(of socket: Socket) -> Set<String> { local.rooms(of: socket) }
    public func sockets(in rooms: Set<String>, except exceptRooms: Set<String>) -> [Socket] {
        local.sockets(in: rooms, except: exceptRooms)
    }
    public func allRooms() -> [String: Set<String>] { local.allRooms() }
    public var count: Int { local.count }
    public func persistSession(_ session: PersistedSession) { local.persistSession(session) }
    public func restoreSession(pid: String, offset: String?) async -> RestoredSession? {
        if let restored = await local.restoreSession(pid: pid, offset: offset) { return restored }
        guard let crossNode = local.crossNode else { return nil }
        return await restoreFromLog(pid: pid, offset: offset, store: crossNode)
    }

    // MARK: Broadcasting

    public func broadcast(_ packet: SocketIOPacket, to target: BroadcastTarget, flags: BroadcastFlags) -> Int {
        let (delivered, sequence) = local.record(packet, to: target, flags: flags, origin: nil)
        if !flags.local && !isOneOwnSocket(target) {
            let body = ClusterMessage.Body.broadcast(
                packet: ClusterPacketCoding.json(of: packet),
                options: ClusterPacketCoding.options(target, flags: flags)
            )
            publish(body, recoverySequence: local.crossNode == nil ? nil : sequence)
        }
        return delivered
    }

    /// Whether `target` is one socket of this server (``Socket/emit(_:_:)`` with recovery on goes through the
    /// adapter): nothing for the other servers.
    private func isOneOwnSocket(_ target: BroadcastTarget) -> Bool {
        guard target.except.isEmpty, target.rooms.count == 1, let room = target.rooms.first else { return false }
        return local.isSocketRoom(room)
    }

    public func broadcastCounting(_ packet: SocketIOPacket, to target: BroadcastTarget, flags: BroadcastFlags) async -> BroadcastCount {
        let (delivered, sequence) = local.record(packet, to: target, flags: flags, origin: nil)
        let mine = BroadcastCount(delivered: delivered, reachedRooms: local.occupiedRooms(of: target))
        guard !flags.local else { return mine }
        let request: JSONValue = [
            "packet": ClusterPacketCoding.json(of: packet),
            "rooms": .array(target.rooms.sorted().map(JSONValue.string)),
            "except": .array(target.except.sorted().map(JSONValue.string)),
            "volatile": .bool(flags.volatile),
        ]
        let waitAlone = cluster.configuration.waitForPublishWhenAlone
        let result = await self.request(
            alwaysPublish: true,
            waitWhenAlone: waitAlone,
            recoverySequence: local.crossNode == nil ? nil : sequence
        ) { id in
            .serverSideEmit(packet: [.string(Self.countingBroadcastEvent), request], requestId: id)
        }
        var count = mine
        for answer in result.responses {
            count.delivered += answer["count"]?.int ?? 0
            count.reachedRooms.formUnion(answer["rooms"]?.array?.compactMap(\.string) ?? [])
        }
        count.missingServers = result.missing
        count.notPublished = result.notPublished
        return count
    }

    // MARK: Operations on many sockets

    public func broadcastWithAck(
        _ packet: SocketIOPacket,
        to target: BroadcastTarget,
        flags: BroadcastFlags,
        timeout: Duration
    ) async -> BroadcastAcks {
        guard !flags.local else { return await local.broadcastWithAck(packet, to: target, flags: flags, timeout: timeout) }
        let requestId = Self.randomID()
        let message = ClusterMessage.Body.broadcast(
            packet: ClusterPacketCoding.json(of: packet),
            options: ClusterPacketCoding.options(target, flags: flags, timeout: timeout),
            requestId: requestId
        )
        async let mine = local.broadcastWithAck(packet, to: target, flags: flags, timeout: timeout)
        let remote = await withCheckedContinuation { (continuation: CheckedContinuation<RemoteAcks, Never>) in
            let waiting = state.withLock { Set($0.membership.nodes.keys) }
            var acks = RemoteAcks(waiting: waiting)
            if acks.isComplete {
                continuation.resume(returning: acks)
            } else {
                acks.continuation = continuation
                state.withLock { $0.ackRequests[requestId] = acks }
            }
            publish(message)
            Task {
                try? await Task.sleep(for: timeout)
                self.finishAcks(requestId)
            }
        }
        let local = await mine
        return BroadcastAcks(expected: local.expected + remote.expected, responses: local.responses + remote.responses)
    }

    public func addSockets(_ target: BroadcastTarget, rooms: [String]) async {
        await publishAndWait(.socketsJoin(options: ClusterPacketCoding.options(target, flags: .init()), rooms: rooms))
        await local.addSockets(target, rooms: rooms)
    }

    public func removeSockets(_ target: BroadcastTarget, rooms: [String]) async {
        await publishAndWait(.socketsLeave(options: ClusterPacketCoding.options(target, flags: .init()), rooms: rooms))
        await local.removeSockets(target, rooms: rooms)
    }

    public func disconnectSockets(_ target: BroadcastTarget, close: Bool) async {
        await publishAndWait(.disconnectSockets(options: ClusterPacketCoding.options(target, flags: .init()), close: close))
        await local.disconnectSockets(target, close: close)
    }

    public func fetchSockets(_ target: BroadcastTarget) async -> [RemoteSocket] {
        let mine = await local.fetchSockets(target)
        let options = ClusterPacketCoding.options(target, flags: .init())
        let result = await request { id in .fetchSockets(options: options, requestId: id) }
        return mine + result.responses.compactMap(ClusterPacketCoding.remoteSocket(from:))
    }

    /// Sends `event` to the other servers and collects one answer per server (the first argument each server's
    /// handler returned), until they all answered or the cluster's request timeout (`timeout` is not used: the
    /// deadline is the cluster's, as in socket.io).
    public func serverSideEmit(_ event: String, _ arguments: [JSONValue], timeout: Duration) async -> [[JSONValue]] {
        // published even when no other server is known yet: one catching up from a log gets it too
        let result = await request(alwaysPublish: true) { id in .serverSideEmit(packet: [.string(event)] + arguments, requestId: id) }
        return result.responses.map { [$0] }
    }

    public func serverSideEmitWithoutAnswers(_ event: String, _ arguments: [JSONValue]) {
        // published even when no other server is known yet, as the one with answers; without a request id the
        // other servers only handle it
        publish(.serverSideEmit(packet: [.string(event)] + arguments, requestId: nil))
    }

    public func clientCount() async -> Int {
        let result = await request { id in .serverSideEmit(packet: [.string(Self.clientCountEvent)], requestId: id) }
        return result.responses.reduce(local.count) { $0 + ($1.int ?? 0) }
    }

    // MARK: Publishing and requests

    /// Publishes `body` from this server's namespace (it postpones the next heartbeat).
    func publish(
        _ body: ClusterMessage.Body,
        recoverySequence: UInt64? = nil,
        done: (@Sendable ((any Error)?) -> Void)? = nil
    ) {
        state.withLock { $0.membership.published(now: .now) }
        cluster.publish(ClusterMessage(uid: cluster.uid, nsp: namespace, body: body, recoverySequence: recoverySequence), done: done)
    }

    /// Publishes `body` and waits until it was published (or dropped).
    @discardableResult
    func publishAndWait(_ body: ClusterMessage.Body, recoverySequence: UInt64? = nil) async -> (any Error)? {
        await withCheckedContinuation { continuation in
            publish(body, recoverySequence: recoverySequence) { continuation.resume(returning: $0) }
        }
    }

    /// Starts a request every other server answers and waits for its completion.
    /// - Parameter alwaysPublish: Publish even when no other server is known (a broadcast must reach the servers
    ///   this one has not heard from yet, and those catching up from a log), and return only once it was published.
    /// - Parameter waitWhenAlone: With `alwaysPublish`, whether to wait for the publish when no other server is
    ///   alive and the bus accepts messages (``SocketIOCluster/Configuration/waitForPublishWhenAlone``); with other
    ///   servers, or while the bus refuses messages, it always waits.
    /// - Parameter recoverySequence: The recovery sequence number of the broadcast the request carries.
    func request(
        alwaysPublish: Bool = false,
        waitWhenAlone: Bool = true,
        recoverySequence: UInt64? = nil,
        _ makeBody: (String) -> ClusterMessage.Body
    ) async -> RequestResult {
        if state.withLock({ $0.membership.nodes.isEmpty }) {
            return await requestAlone(alwaysPublish: alwaysPublish, waitWhenAlone: waitWhenAlone, recoverySequence: recoverySequence, makeBody)
        }
        let requestId = Self.randomID()
        let body = makeBody(requestId)
        let publication = Publication()
        var waits = alwaysPublish
        var result = await withCheckedContinuation { continuation in
            let actions = state.withLock { state in
                state.requests[requestId] = continuation
                return state.membership.request(body, now: .now)
            }
            let publishes = actions.contains { if case .publish = $0 { true } else { false } }
            perform(actions.filter { if case .publish = $0 { false } else { true } })
            guard publishes || alwaysPublish else { return publication.finish(nil) }
            if !publishes {
                state.withLock { $0.membership.published(now: .now) }
                // alone: nobody to wait for; the publish only goes to the log, in order, retried as usual
                if !waitWhenAlone, cluster.acceptsMessages { waits = false }
            }
            let message = ClusterMessage(uid: cluster.uid, nsp: namespace, body: body, recoverySequence: recoverySequence)
            cluster.publish(message) { [self] error in
                publication.finish(error)
                guard error != nil else { return }
                let waiting = state.withLock { $0.requests.removeValue(forKey: requestId) }
                waiting?.resume(returning: RequestResult(responses: [], missing: 0, notPublished: true))
            }
        }
        if waits, await publication.wait() != nil { result.notPublished = true }
        return result
    }

    /// ``request(alwaysPublish:waitWhenAlone:recoverySequence:_:)`` when no other server is alive: nobody answers,
    /// so there is no request to keep and nothing to suspend for unless the publish itself is awaited (the
    /// counting broadcast of every `/broadcast` of a lone node takes this path: no continuation, no task switch).
    private func requestAlone(
        alwaysPublish: Bool,
        waitWhenAlone: Bool,
        recoverySequence: UInt64?,
        _ makeBody: (String) -> ClusterMessage.Body
    ) async -> RequestResult {
        var result = RequestResult(responses: [], missing: 0)
        guard alwaysPublish else { return result }
        let body = makeBody(Self.randomID())
        // the publish only goes to the log, in order, retried as usual
        if !waitWhenAlone, cluster.acceptsMessages {
            publish(body, recoverySequence: recoverySequence)
        } else if await publishAndWait(body, recoverySequence: recoverySequence) != nil {
            result.notPublished = true
        }
        return result
    }

    private func finishAcks(_ requestId: String) {
        let finished = state.withLock { $0.ackRequests.removeValue(forKey: requestId) }
        if let finished, let continuation = finished.continuation { continuation.resume(returning: finished) }
    }

    /// Updates the acknowledgements of a broadcast from other servers, and completes it when all are in.
    func updateAcks(_ requestId: String, _ change: (inout RemoteAcks) -> Void) {
        let finished = state.withLock { state -> RemoteAcks? in
            guard var acks = state.ackRequests[requestId] else { return nil }
            change(&acks)
            guard acks.isComplete else {
                state.ackRequests[requestId] = acks
                return nil
            }
            state.ackRequests[requestId] = nil
            return acks
        }
        if let finished, let continuation = finished.continuation { continuation.resume(returning: finished) }
    }

    // MARK: Driving the membership

    func start() { perform(state.withLock { $0.membership.start(now: .now) }) }

    func stop() { perform(state.withLock { $0.membership.stop() }) }

    func tick(now: ContinuousClock.Instant) { perform(state.withLock { $0.membership.tick(now: now) }) }

    /// A message from the bus.
    func receive(_ message: ClusterMessage) { perform(state.withLock { $0.membership.receive(message, now: .now) }) }

    func perform(_ actions: [ClusterMembership.Action]) {
        for action in actions {
            switch action {
            case .publish(let body):
                cluster.publish(ClusterMessage(uid: cluster.uid, nsp: namespace, body: body))
            case .apply(let message):
                apply(message)
            case .nodeDown(let uid):
                cluster.logger.info("cluster server down", metadata: ["cluster.uid": "\(uid)", "sio.nsp": "\(namespace)"])
                let pending = state.withLock { Array($0.ackRequests.keys) }
                for requestId in pending { updateAcks(requestId) { _ = $0.waiting.remove(uid) } }
            case .requestCompleted(let requestId, let responses, let missing):
                let waiting = state.withLock { $0.requests.removeValue(forKey: requestId) }
                waiting?.resume(returning: RequestResult(responses: responses, missing: missing))
            }
        }
    }

    /// The outcome of one publish, awaited once.
    final class Publication: Sendable {
        private struct State {
            var outcome: Result<Void, any Error>?
            var waiter: CheckedContinuation<(any Error)?, Never>?
        }
        private let state = Mutex(State())

        func finish(_ error: (any Error)?) {
            let waiter = state.withLock { state -> CheckedContinuation<(any Error)?, Never>? in
                state.outcome = error.map { .failure($0) } ?? .success(())
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: error)
        }

        /// The publish's error, `nil` once it was published.
        func wait() async -> (any Error)? {
            await withCheckedContinuation { continuation in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if state.outcome == nil { state.waiter = continuation }
                    return state.outcome
                }
                guard let outcome else { return }
                if case .failure(let error) = outcome { continuation.resume(returning: error) } else { continuation.resume(returning: nil) }
            }
        }
    }

    /// 16 random hex digits, as socket.io's `randomId()`.
    static func randomID() -> String {
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
