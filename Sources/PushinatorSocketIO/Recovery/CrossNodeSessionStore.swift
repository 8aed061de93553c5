public import PushinatorCluster

/// A ``SessionStore`` whose sessions every node of a cluster can take back, and whose missed events come from
/// the cluster bus's log (PostgreSQL: `PostgresSessionStore` in PushinatorPostgres).
///
/// The in-process half (``SessionStore``) keeps serving a client that comes back to the same node. The shared half
/// holds each session from the moment its socket connects (a node killed with `kill -9` says nothing at the end):
/// the adapter reports every connect and room change with ``sessionOpened(_:)`` and the namespace every departure
/// with ``sessionClosed(pid:recoverable:)``; both return at once (the store writes behind). A client that comes
/// back to another node is restored by ``ClusterAdapter`` from ``takeSession(pid:namespace:)`` and
/// ``logMessages(namespace:after:)``.
public protocol CrossNodeSessionStore: SessionStore {
    /// The uid this node publishes its log rows with (the cluster transport's).
    var nodeUID: String { get }
    /// The socket storage keys kept with the session (the others stay in their process).
    var persistedStorageKeys: [any PersistedSocketStorageKey.Type] { get }
    /// Keeps (writing behind) the session of a connected socket; called again after each room change.
    func sessionOpened(_ record: SessionRecord)
    /// The socket left: a recoverable departure keeps its session until it expires, any other deletes it.
    func sessionClosed(pid: String, recoverable: Bool)
    /// Removes and returns the session `pid` of `namespace` kept by any node, unless it is unknown or expired.
    func takeSession(pid: String, namespace: String) async -> SessionRecord?
    /// The log's messages on `namespace` with a log id above `after`, oldest first, each with its
    /// ``ClusterMessage/logID``; `nil` when they cannot be read (the database is unreachable, too many).
    func logMessages(namespace: String, after: Int64) async -> [ClusterMessage]?
    /// Returns once this node has received every log row up to `logID` from the bus, or after a short bound.
    func waitUntilReceived(through logID: Int64) async
}
