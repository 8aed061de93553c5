public import EngineIO
public import PushinatorJSON

/// Where a namespace keeps, while connection state recovery is on, the events it broadcasts and the sessions of
/// sockets whose connection dropped, until their clients come back.
///
/// The namespace's adapter calls ``append(_:)`` once per buffered broadcast, under its own lock, and
/// ``packets(after:matching:)`` when a client comes back, so that no event is both replayed and delivered live:
/// neither may block on I/O (a store that writes elsewhere writes behind). Every store is bounded; what it
/// drops is counted in ``statistics``.
///
/// ```swift
/// let recovery = ConnectionStateRecovery(makeStore: { _, recovery in InMemorySessionStore(limits: .init(recovery)) })
/// ```
public protocol SessionStore: Sendable {
    /// Keeps a broadcast event (its sequence number is one more than the previous one's).
    func append(_ packet: RecordedPacket)
    /// The events after sequence number `sequence` that a socket in `rooms` would have received, oldest first;
    /// `nil` when some of them are no longer kept (the client cannot be recovered).
    func packets(after sequence: UInt64, matching rooms: Set<String>) -> [RecordedPacket]?
    /// Keeps the session of a socket whose connection dropped.
    func save(_ session: PersistedSession)
    /// Removes and returns the session with private id `pid`, unless it is unknown or expired.
    func take(pid: String) -> PersistedSession?
    /// What the store holds and what it dropped.
    var statistics: SessionStoreStatistics { get }
    /// Whether a kept session may be in one of `rooms` (any kept session when `rooms` is empty, a broadcast to
    /// everyone): when no socket receives a broadcast live and this is `false`, nobody can miss it and the adapter
    /// does not record it. Answering `true` is always safe (the default: every broadcast is recorded).
    func mayHoldSession(in rooms: Set<String>) -> Bool
}

extension SessionStore {
    public func mayHoldSession(in rooms: Set<String>) -> Bool { true }
}

/// A broadcast event kept for recovery, in its wire form with its offset as the last argument.
public struct RecordedPacket: Sendable {
    /// The sequence number the offset stands for.
    public let sequence: UInt64
    /// The rooms it was sent to (everyone when empty).
    public let rooms: Set<String>
    /// The rooms left out (the sender's own room for `socket.broadcast`).
    public let except: Set<String>
    /// The Engine.IO packets: the Socket.IO text packet, then its binary attachments.
    public let packets: [EngineIOEncodedPacket]
    /// The bytes the packets take.
    public let byteCount: Int
    /// When it was sent.
    public let time: ContinuousClock.Instant
    /// Where it came from when another node of a cluster published it; `nil` for this node's own events.
    public let origin: RecordOrigin?

    /// Creates a record.
    public init(
        sequence: UInt64,
        rooms: Set<String>,
        except: Set<String>,
        packets: [EngineIOEncodedPacket],
        byteCount: Int,
        time: ContinuousClock.Instant,
        origin: RecordOrigin? = nil
    ) {
        self.sequence = sequence
        self.rooms = rooms
        self.except = except
        self.packets = packets
        self.byteCount = byteCount
        self.time = time
        self.origin = origin
    }

    /// Whether a socket in `socketRooms` would have received it (as socket.io's `shouldIncludePacket`).
    public func reaches(_ socketRooms: Set<String>) -> Bool {
        let included = rooms.isEmpty || !rooms.isDisjoint(with: socketRooms)
        return included && except.isDisjoint(with: socketRooms)
    }
}

/// The node of a cluster an event came from, and where it is in the bus's log.
public struct RecordOrigin: Sendable, Hashable {
    /// The publishing node's uid.
    public var uid: String
    /// The publishing node's recovery sequence number of the event (`pushinatorSeq`), when it recorded it.
    public var sequence: UInt64?
    /// The event's row in the bus's log, when the bus keeps one.
    public var logID: Int64?

    /// Creates an origin.
    public init(uid: String, sequence: UInt64? = nil, logID: Int64? = nil) {
        self.uid = uid
        self.sequence = sequence
        self.logID = logID
    }
}

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

/// The typed values of a socket (``Socket/subscript(_:)``), carried as they are.
public struct SocketStorage: Sendable {
    var values: [ObjectIdentifier: any Sendable]

    /// No values.
    public static var empty: Self { .init(values: [:]) }

    /// The value kept under `key`, as ``Socket/subscript(_:)`` had it.
    public subscript<Key: SocketStorageKey>(key: Key.Type) -> Key.Value? {
        values[ObjectIdentifier(key)] as? Key.Value
    }
}

/// Counters of a ``SessionStore``, for metrics.
public struct SessionStoreStatistics: Sendable, Equatable {
    /// Events kept now.
    public var packets = 0
    /// Disconnected sessions kept now.
    public var sessions = 0
    /// Bytes kept now (events and sessions).
    public var bytes = 0
    /// Events dropped before their time because a count, byte or memory limit was reached.
    public var droppedPackets = 0
    /// Sessions dropped before their time because a count, byte or memory limit was reached.
    public var droppedSessions = 0
    /// Events and sessions removed because they were older than the maximum disconnection duration.
    public var expired = 0
    /// Sockets taken back by connection state recovery (counted by the namespace, not the store).
    public var recovered = 0
    /// CONNECTs that asked for a session back and got a fresh one: unknown or expired, missed events dropped, or
    /// refused by an `allowRecovery` check (counted by the namespace, not the store).
    public var refused = 0

    /// Creates counters, all zero by default.
    public init(
        packets: Int = 0,
        sessions: Int = 0,
        bytes: Int = 0,
        droppedPackets: Int = 0,
        droppedSessions: Int = 0,
        expired: Int = 0,
        recovered: Int = 0,
        refused: Int = 0
    ) {
        self.packets = packets
        self.sessions = sessions
        self.bytes = bytes
        self.droppedPackets = droppedPackets
        self.droppedSessions = droppedSessions
        self.expired = expired
        self.recovered = recovered
        self.refused = refused
    }

    /// Adds `other`'s counters to these (to sum the namespaces of a server).
    public static func + (lhs: Self, rhs: Self) -> Self {
        Self(
            packets: lhs.packets + rhs.packets,
            sessions: lhs.sessions + rhs.sessions,
            bytes: lhs.bytes + rhs.bytes,
            droppedPackets: lhs.droppedPackets + rhs.droppedPackets,
            droppedSessions: lhs.droppedSessions + rhs.droppedSessions,
            expired: lhs.expired + rhs.expired,
            recovered: lhs.recovered + rhs.recovered,
            refused: lhs.refused + rhs.refused
        )
    }
}
