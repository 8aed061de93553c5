public import PushinatorCluster
public import PushinatorJSON

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

/// A session as a ``CrossNodeSessionStore`` keeps it for every node.
public struct SessionRecord: Sendable, Hashable {
    /// The private session id.
    public var pid: String
    /// The namespace.
    public var namespace: String
    /// The socket id.
    public var id: String
    /// The uid of the node the socket is (or was last) connected to.
    public var node: String
    /// The rooms the socket is in, its own room included.
    public var rooms: Set<String>
    /// ``Socket/data``.
    public var data: JSONValue
    /// The socket's values under ``PersistedSocketStorageKey``s, by their ``PersistedSocketStorageKey/persistedName``.
    public var storage: [String: String]
    /// The ``ClusterRecoveryOffset`` the socket started at: a client that sends no offset of that node got
    /// everything up to it.
    public var baseOffset: String

    /// Creates a record.
    public init(
        pid: String,
        namespace: String,
        id: String,
        node: String,
        rooms: Set<String>,
        data: JSONValue,
        storage: [String: String],
        baseOffset: String
    ) {
        self.pid = pid
        self.namespace = namespace
        self.id = id
        self.node = node
        self.rooms = rooms
        self.data = data
        self.storage = storage
        self.baseOffset = baseOffset
    }
}

/// A ``SocketStorageKey`` whose value a ``CrossNodeSessionStore`` keeps with the session, under a stable name, so
/// that a socket restored on another node has it back (other keys stay in their process).
///
/// ```swift
/// enum UserID: PersistedSocketStorageKey { static let persistedName = "user" }
/// ```
public protocol PersistedSocketStorageKey: SocketStorageKey, SendableMetatype where Value == String {
    /// The name it is kept under.
    static var persistedName: String { get }
}

extension SocketStorage {
    /// The values of `keys` this storage holds, by name.
    public func persisted(_ keys: [any PersistedSocketStorageKey.Type]) -> [String: String] {
        var result: [String: String] = [:]
        for key in keys {
            if let value = values[ObjectIdentifier(key)] as? String { result[key.persistedName] = value }
        }
        return result
    }

    /// A storage with the values of `keys` found in `persisted`.
    public init(persisted: [String: String], keys: [any PersistedSocketStorageKey.Type]) {
        var values: [ObjectIdentifier: any Sendable] = [:]
        for key in keys {
            if let value = persisted[key.persistedName] { values[ObjectIdentifier(key)] = value }
        }
        self.init(values: values)
    }
}
