import EngineIO
import Logging
import PushinatorCluster
import PushinatorJSON

extension ClusterAdapter {
    /// Takes back a session that another node (or this node before a restart) kept in a ``CrossNodeSessionStore``,
    /// with the events its client missed: first those read from the log (``CrossNodeReplay``), then those this
    /// node recorded since it started reading (without the ones the log already gave).
    ///
    /// An offset of the session's node (its prefix) says what the client got there; any other offset, or none,
    /// means it got nothing after the session's start on that node (its base offset).
    func restoreFromLog(pid: String, offset: String?, store: any CrossNodeSessionStore) async -> RestoredSession? {
        guard let record = await store.takeSession(pid: pid, namespace: namespace) else { return nil }
        guard let base = ClusterRecoveryOffset(parsing: record.baseOffset) else { return nil }
        var point = base
        if let offset, let sent = ClusterRecoveryOffset(parsing: offset), sent.prefix == base.prefix,
            sent.sequence >= base.sequence
        {
            point = sent
        }
        // this node's records from here on are replayed from memory; the log gives what came before
        let (sequence, here) = local.recoveryPoint()
        guard let messages = await store.logMessages(namespace: namespace, after: point.logPosition) else {
            cluster.logger.info("cluster recovery: the log cannot be read", metadata: ["sio.sid": "\(record.id)"])
            return nil
        }
        var rooms = record.rooms
        rooms.insert(record.id)
        let entries = CrossNodeReplay.select(messages, origin: record.node, offset: point, rooms: rooms, namespace: namespace)
        // an entry read from the log that this node has not received yet would come live as well
        if let last = messages.last?.logID { await store.waitUntilReceived(through: last) }
        var packets: [EngineIOEncodedPacket] = []
        var keys = Set<ReplayKey>()
        for entry in entries {
            var packet = entry.packet
            packet.appendArgument(.string(here))
            packets += SocketIOWire.encode(packet)
            if entry.uid == store.nodeUID, let sequence = entry.sequence { keys.insert(.own(sequence)) } else { keys.insert(.log(entry.logID)) }
        }
        let session = PersistedSession(
            id: record.id,
            pid: record.pid,
            rooms: record.rooms,
            data: record.data,
            storage: SocketStorage(persisted: record.storage, keys: store.persistedStorageKeys),
            baseSequence: sequence,
            disconnectedAt: .now
        )
        cluster.logger.debug(
            "cluster recovery from the log",
            metadata: ["sio.sid": "\(record.id)", "from": "\(record.node)", "replayed": "\(entries.count)"]
        )
        return RestoredSession(session: session, replayAfter: sequence, logReplay: packets, logReplayed: keys)
    }
}
