public import PushinatorJSON

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
