public import PushinatorCluster
public import PushinatorSocketIO

/// The ``CrossNodeSessionStore`` of one namespace on a PostgreSQL cluster: events and dropped sessions in memory
/// for this node (an ``InMemorySessionStore``: the broadcast path is the same as on one node), every session in
/// the ``PostgresSessionTable`` for the others. Made by ``PostgresSessionTable/store(namespace:recovery:)``.
public final class PostgresSessionStore: CrossNodeSessionStore {
    /// This node's half.
    public let memory: InMemorySessionStore
    /// The shared table.
    public let table: PostgresSessionTable

    init(memory: InMemorySessionStore, table: PostgresSessionTable) {
        self.memory = memory
        self.table = table
    }

    public func append(_ packet: RecordedPacket) { memory.append(packet) }
    public func packets(after sequence: UInt64, matching rooms: Set<String>) -> [RecordedPacket]? {
        memory.packets(after: sequence, matching: rooms)
    }
    public func save(_ session: PersistedSession) { memory.save(session) }
    public func take(pid: String) -> PersistedSession? { memory.take(pid: pid) }
    public var statistics: SessionStoreStatistics { memory.statistics }

    public var nodeUID: String { table.nodeUID }
    public var persistedStorageKeys: [any PersistedSocketStorageKey.Type] { table.storageKeys }

    public func sessionOpened(_ record: SessionRecord) {
        let row = PostgresSessionRow(record)
        table.enqueue(pid: record.pid) { _ in .upsert(row, disconnected: false) }
    }

    public func sessionClosed(pid: String, recoverable: Bool) {
        table.enqueue(pid: pid) { previous in
            guard recoverable else { return .delete }
            if case .upsert(let row, _) = previous { return .upsert(row, disconnected: true) }
            return .markDisconnected
        }
    }

    public func takeSession(pid: String, namespace: String) async -> SessionRecord? {
        await table.take(pid: pid, namespace: namespace)
    }

    public func logMessages(namespace: String, after: Int64) async -> [ClusterMessage]? {
        await table.logMessages(namespace: namespace, after: after)
    }

    public func waitUntilReceived(through logID: Int64) async { await table.waitUntilReceived(through: logID) }
}
