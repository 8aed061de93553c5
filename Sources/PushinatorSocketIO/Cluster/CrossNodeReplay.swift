import PushinatorCluster
import PushinatorJSON

/// Which of the cluster log's messages a client restored on another node missed, and what they are.
///
/// The client's ``ClusterRecoveryOffset`` says what it got on its old node (`origin`): that node's own events up to
/// `sequence`, the other nodes' events up to `logPosition`. The log holds every node's messages with ids in
/// commit order; the ones replayed are, in log order, the events (recordable broadcasts: not volatile, no
/// acknowledgement) after `logPosition`, except `origin`'s own whose `pushinatorSeq` is at most `sequence`, that
/// reach the session's rooms and none of their `except` rooms.
struct CrossNodeReplay {
    /// An event to replay.
    struct Entry: Equatable {
        /// Its log id.
        var logID: Int64
        /// The node that published it.
        var uid: String
        /// The publishing node's recovery sequence number, when it recorded the event.
        var sequence: UInt64?
        /// The event.
        var packet: SocketIOPacket
        /// Whom it was for.
        var target: BroadcastTarget
    }

    /// The event a log message carries for recovery: a BROADCAST without acknowledgement, or pushinator's
    /// counting broadcast, neither volatile; `nil` for anything else.
    static func event(of message: ClusterMessage, namespace: String) -> (SocketIOPacket, BroadcastTarget)? {
        switch message.body {
        case .broadcast(let json, let options, nil):
            guard options.flags.volatile != true, let packet = ClusterPacketCoding.event(from: json, namespace: namespace),
                packet.ackID == nil
            else { return nil }
            return (packet, ClusterPacketCoding.target(of: options))
        case .serverSideEmit(let arguments, _):
            guard arguments.count == 2, arguments[0].string == ClusterAdapter.countingBroadcastEvent else { return nil }
            let request = arguments[1]
            guard request["volatile"]?.bool != true, let json = request["packet"],
                let packet = ClusterPacketCoding.event(from: json, namespace: namespace), packet.ackID == nil
            else { return nil }
            let target = BroadcastTarget(
                rooms: Set(request["rooms"]?.array?.compactMap(\.string) ?? []),
                except: Set(request["except"]?.array?.compactMap(\.string) ?? [])
            )
            return (packet, target)
        default:
            return nil
        }
    }

    /// The events among `messages` (log order, each with its log id) that a client at `offset` of node `origin`,
    /// in `rooms`, did not get.
    static func select(
        _ messages: [ClusterMessage],
        origin: String,
        offset: ClusterRecoveryOffset,
        rooms: Set<String>,
        namespace: String
    ) -> [Entry] {
        var entries: [Entry] = []
        for message in messages {
            guard let logID = message.logID, logID > offset.logPosition else { continue }
            if message.uid == origin, let sequence = message.recoverySequence, sequence <= offset.sequence { continue }
            guard let (packet, target) = event(of: message, namespace: namespace) else { continue }
            let reached = target.rooms.isEmpty || !target.rooms.isDisjoint(with: rooms)
            guard reached, target.except.isDisjoint(with: rooms) else { continue }
            entries.append(Entry(logID: logID, uid: message.uid, sequence: message.recoverySequence, packet: packet, target: target))
        }
        return entries
    }
}
