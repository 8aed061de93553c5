import HTTPTypes
import PushinatorHTTP
import PushinatorJSON
import PushinatorSocketIO

/// What `/user/send` and `/broadcast` did on a cluster.
struct ClusterDelivery {
    /// The connections the message was handed to, on every node that answered.
    var delivered = 0
    /// How many of them acknowledged it, when acks were asked for.
    var acked: Int?
    /// The offline-queue write to await.
    var queued = QueueWrite(userIDs: [])
    /// Some node did not answer by `cluster.timeout` (its connections may have got the message all the same).
    var partial = false
    /// The other nodes could not be sent the message at all (only this node's connections got it).
    var notPublished = false
}

extension PushApp {
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
        ]
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
