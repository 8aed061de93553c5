import EngineIO
public import PushinatorJSON

/// The state of a socket whose connection dropped, kept so that its client can take it back.
public struct PersistedSession: Sendable {
    /// The socket id, which the recovered socket keeps.
    public let id: String
    /// The private session id the client sends back (`pid`).
    public let pid: String
    /// The rooms the socket was in (its own room included).
    public let rooms: Set<String>
    /// ``Socket/data``.
    public let data: JSONValue
    /// The socket's typed values (``Socket/subscript(_:)``); only stores in this process can keep them.
    public let storage: SocketStorage
    /// The sequence number of the last event sent before the socket (re)connected: a client that sends no offset
    /// gets every kept event after it.
    public let baseSequence: UInt64
    /// When the connection dropped.
    public let disconnectedAt: ContinuousClock.Instant

    /// Creates a session record.
    public init(
        id: String,
        pid: String,
        rooms: Set<String>,
        data: JSONValue,
        storage: SocketStorage,
        baseSequence: UInt64,
        disconnectedAt: ContinuousClock.Instant
    ) {
        self.id = id
        self.pid = pid
        self.rooms = rooms
        self.data = data
        self.storage = storage
        self.baseSequence = baseSequence
        self.disconnectedAt = disconnectedAt
    }

    /// About what keeping it costs, in bytes.
    var byteCount: Int { rooms.reduce(160 + id.utf8.count + pid.utf8.count) { $0 + 48 + $1.utf8.count } }
}
