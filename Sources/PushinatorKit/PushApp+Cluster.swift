import HTTPTypes
import Synchronization
import Logging
import PushinatorHTTP
import PushinatorJSON
import PushinatorSocketIO

extension PushApp {
    /// The server-side events that carry registrations to the other nodes (the hash travels as its SHA-256 digest).
    static let registerEvent = "pushinator:register"
    static let unregisterEvent = "pushinator:unregister"
    /// The server-side event a node sends when a user authenticated there: the others hand over its queue.
    static let connectedEvent = "pushinator:connected"
    /// The server-side event a node sends when a socket of a user was recovered there: the others drop its queue.
    static let recoveredEvent = "pushinator:recovered"

    /// Applies the registrations other nodes replicate; each answers `true` once stored (`false` on a store error).
    func installReplication() {
        let users = self.users
        let logger = clients.logger
        clients.onServerSideEmit(Self.registerEvent) { arguments in
            guard let userID = arguments.first?.string, let digest = arguments.dropFirst().first?.string.flatMap(HashDigest.init(hex:))
            else { return false }
            do throws(UserStoreError) {
                try await users.registerReplica(userID, digest: digest)
                return true
            } catch {
                logger.error("replicated registration not stored", metadata: ["push.user": "\(userID)", "error.message": "\(error.message)"])
                return false
            }
        }
        clients.onServerSideEmit(Self.connectedEvent) { [weak self] arguments in
            // a shared store has one queue for every node: the node where the user authenticated took it
            guard let self, !users.store.isShared, let userID = arguments.first?.string else { return nil }
            return .integer(await self.handOverQueue(of: userID))
        }
        clients.onServerSideEmit(Self.recoveredEvent) { [weak self] arguments in
            // a shared store's queue was dropped by the node where the socket was recovered
            guard let self, !users.store.isShared, let userID = arguments.first?.string else { return nil }
            // what this node queued for the user while its socket was away went to the user's room too, through
            // the log: the recovered socket had it in its replay
            let dropped = delivery.withLock { users.store.take(for: userID, now: WallClock.milliseconds()).count }
            return .integer(dropped)
        }
        clients.onServerSideEmit(Self.unregisterEvent) { arguments in
            guard let userID = arguments.first?.string else { return false }
            do throws(UserStoreError) {
                try await users.unregisterReplica(userID)
                return true
            } catch {
                logger.error("replicated unregistration not stored", metadata: ["push.user": "\(userID)", "error.message": "\(error.message)"])
                return false
            }
        }
    }

    /// Asks the other nodes to hand over what they queued for `userID`, who just authenticated here (they send it
    /// to the user's room through the bus; nothing here waits for their answers: no task, no request per `auth`).
    func collectQueuedElsewhere(for userID: String) {
        clients.serverSideEmitWithoutAnswers(Self.connectedEvent, [.string(userID)])
    }

    /// Tells the other nodes that a socket of `userID` was recovered here: they drop what they queued for it.
    func dropQueuedElsewhere(for userID: String) {
        clients.serverSideEmitWithoutAnswers(Self.recoveredEvent, [.string(userID)])
    }

    /// On a shared store: takes what was queued for `userID` after its `auth` took the queue (a send that raced the
    /// `auth`, here or on another node) and sends it to the user's room, at once and again after `cluster.timeout`
    /// (how long another node's send may take to queue it); a message no connection got goes back in the queue.
    func collectLateQueued(for userID: String) {
        let delay = settings.withLock { $0.cluster.map { Duration.milliseconds($0.timeout) } }
        Task { [weak self] in
            guard let self else { return }
            await self.deliverLateQueued(to: userID)
            guard let delay else { return }
            try? await Task.sleep(for: delay + .milliseconds(250))
            await self.deliverLateQueued(to: userID)
        }
    }

    private func deliverLateQueued(to userID: String) async {
        let queued: [QueuedMessage]
        do throws(UserStoreError) {
            queued = try await users.store.claim(for: userID, now: WallClock.milliseconds())
        } catch {
            clients.logger.warning("late queued messages not taken", metadata: ["push.user": "\(userID)", "error.message": "\(error.message)"])
            return
        }
        guard !queued.isEmpty else { return }
        let raw = settings.withLock { $0.messageEncoding } == .raw
        for message in queued {
            let argument = Self.payload(jsonText: message.message, raw: raw)
            let delivered: Int
            if cluster != nil {
                delivered = await clients.to(Self.room(of: userID)).emitCounting("message", [argument]).delivered
            } else {
                delivered = clients.to(Self.room(of: userID)).emit("message", [argument])
            }
            if delivered == 0 { _ = users.store.enqueue(message.message, for: [userID], now: message.enqueuedAt) }
        }
    }

    /// Sends what this node queued for `userID` (connected on another node now) to the user's room on every node,
    /// in order; a message no connection got goes back in the queue with its original time.
    func handOverQueue(of userID: String) async -> Int {
        let queued = delivery.withLock { users.isConnected(userID) ? [] : users.store.take(for: userID, now: WallClock.milliseconds()) }
        let raw = settings.withLock { $0.messageEncoding } == .raw
        for message in queued {
            let count = await clients.to(Self.room(of: userID)).emitCounting("message", [Self.payload(jsonText: message.message, raw: raw)])
            if count.delivered == 0 {  // nobody got it (or the nodes that did not answer): keep it
                _ = users.store.enqueue(message.message, for: [userID], now: message.enqueuedAt)
            }
        }
        return queued.count
    }

    /// Hands a registration made here to every other node (waiting at most `cluster.timeout` for their answers).
    func replicateRegistration(_ userID: String, hash: String) async {
        guard cluster != nil else { return }
        _ = await clients.serverSideEmit(Self.registerEvent, [.string(userID), .string(HashDigest(of: hash).hex)])
    }

    /// Hands an unregistration made here to every other node.
    func replicateUnregistration(_ userID: String) async {
        guard cluster != nil else { return }
        _ = await clients.serverSideEmit(Self.unregisterEvent, [.string(userID)])
    }

    /// Sends `message` to `userIDs` on every node: each node hands it to its connections of the users and says how
    /// many (waiting at most `cluster.timeout`); the users no node reached are queued here.
    func deliverOnCluster(_ message: JSONValue, to userIDs: [String], ack: DeliveryAck?) async -> ClusterDelivery {
        let (argument, text) = encoded(message)
        let rooms = userIDs.map(Self.room(of:))
        var result = ClusterDelivery()
        let reached: Set<String>
        if let ack {
            // the other nodes report counts, not rooms: the users are queued only when no connection got it
            let acks = await clients.to(rooms).emitWithAck("message", [argument], timeout: ack.timeout)
            result.delivered = acks.expected
            result.acked = acks.responses.count
            reached = acks.expected > 0 ? Set(rooms) : []
        } else {
            let count = await clients.to(rooms).emitCounting("message", [argument])
            result.delivered = count.delivered
            result.partial = count.missingServers > 0
            result.notPublished = count.notPublished
            reached = count.reachedRooms
        }
        let unreached = userIDs.filter { !reached.contains(Self.room(of: $0)) }
        guard !unreached.isEmpty else { return result }
        result.queued = delivery.withLock {
            // a user who authenticated here since the broadcast took an empty queue: hand it the message now
            var offline: [String] = []
            for userID in unreached {
                if users.isConnected(userID) {
                    result.delivered += clients.to(Self.room(of: userID)).local.emit("message", [argument])
                } else {
                    offline.append(userID)
                }
            }
            guard !offline.isEmpty else { return QueueWrite(userIDs: []) }
            if ack != nil {  // not buffered with its ack: buffered without one for a tab here in its recovery window
                result.delivered += clients.to(offline.map(Self.room(of:))).local.emit("message", [argument])
            }
            return users.store.enqueue(text ?? message.jsonString, for: offline, now: WallClock.milliseconds())
        }
        return result
    }

    /// The cluster as `/health` and `/stats` show it.
    static func json(of status: SocketIOCluster.Status) -> JSONObject {
        [
            "connected": .bool(status.connected),
            "nodes": .integer(status.servers),
            "pendingPublishes": .integer(status.pendingPublishes),
            "droppedPublishes": .integer(status.droppedPublishes),
            "droppedMessages": .integer(status.droppedMessages),
            "receivedMessages": .integer(status.receivedMessages),
            "busLag": status.busLag.map { .integer(milliseconds($0)) } ?? .null,
        ]
    }

    /// Why `/health` says DEGRADED: the database unreachable, or the bus lag above `maxBusLag`; `nil` when healthy.
    static func degradation(of status: SocketIOCluster.Status, maxBusLag: Duration) -> String? {
        if !status.connected { return "the cluster's database is unreachable" }
        if let lag = status.busLag, lag > maxBusLag {
            return "the cluster bus lags \(milliseconds(lag)) ms (cluster.maxBusLag: \(milliseconds(maxBusLag)) ms)"
        }
        return nil
    }

    /// `duration` in whole milliseconds (rounded up, so that a lag is never shown as 0 ms).
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1_000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    /// A 503 for a message the other nodes could not be sent (this node's connections got it).
    static func clusterUnavailable(delivered: Int) -> HTTPError {
        HTTPError(
            .serviceUnavailable,
            message: "Cluster unavailable: the message reached this node's connections only",
            details: ["delivered": .integer(delivered)]
        )
    }
}
