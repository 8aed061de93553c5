import HTTPTypes
import Synchronization
import Logging
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
