/// The bus between the nodes of a cluster: it publishes ``ClusterMessage``s to every node of a namespace and
/// reports what arrives. PostgreSQL implements it today (`PostgresClusterTransport` in PushinatorPostgres);
/// another engine (Redis) can be added without touching the adapter.
///
/// The transport takes and gives typed messages, not bytes, because each engine has its own wire format
/// (PostgreSQL: JSON in a notification, MessagePack in a table for large or binary messages; Redis: MessagePack).
///
/// ```swift
/// try await transport.subscribe(namespace: "/")
/// try await transport.publish(ClusterMessage(uid: uid, nsp: "/", body: .initialHeartbeat))
/// for await event in transport.events {
///     switch event {
///     case .message(let message): adapter.receive(message)
///     case .disconnected, .reconnected: break  // health; the transport catches up by itself
///     case .dropped(let error): logger.warning("bad cluster message", metadata: ["error": "\(error)"])
///     }
/// }
/// ```
public protocol ClusterTransport: Sendable {
    /// The events of the transport: one sequence, consumed by one task.
    associatedtype Events: AsyncSequence<ClusterTransportEvent, Never> & Sendable

    /// The uid this node publishes with (socket.io's adapter `uid`: 16 hex digits); a transport that echoes a
    /// node's own messages leaves out those carrying it.
    var localUID: String { get }

    /// Publishes `message` to every other node subscribed to its namespace. A transport may report this node's
    /// own messages back too: a receiver skips its own uid, as socket.io's adapter does.
    /// - Parameter message: The message.
    /// - Throws: When the engine refused the message or is unreachable.
    func publish(_ message: ClusterMessage) async throws

    /// Publishes `messages` in order, together where the engine can (PostgreSQL: one statement for the small ones).
    /// The default publishes them one at a time.
    /// - Parameter messages: The messages, in the order they go out.
    /// - Throws: When the engine refused one of them or is unreachable (the ones before it may be published).
    func publish(_ messages: [ClusterMessage]) async throws

    /// Publishes `messages` as `publish(_ messages:)` does, and calls `started` once they are queued
    /// for the engine in order: what a publish started after `started` ran goes out after them, even while these
    /// are still in flight. `started` runs at most once, and not when the publish fails before its messages were
    /// queued (the error says so). The default calls it once the publish is over (one publish in flight at a time).
    /// - Parameters:
    ///   - messages: The messages, in the order they go out.
    ///   - started: Called once the messages are queued in order.
    /// - Throws: When the engine refused one of them or is unreachable.
    func publish(_ messages: [ClusterMessage], started: @escaping @Sendable () -> Void) async throws

    /// How many publishes (``publish(_:started:)``) may be in flight at once; each goes out after those started
    /// before it. Default 1.
    var maxPublishesInFlight: Int { get }

    /// How long this node's own messages take to come back over the bus (`nil`: not measured, the default).
    var busLag: Duration? { get }

    /// Starts receiving the messages of `namespace` (idempotent; kept across reconnections).
    /// - Parameter namespace: The namespace, such as `"/"`.
    /// - Throws: When the engine is unreachable right now (the subscription is still kept and made on reconnection).
    func subscribe(namespace: String) async throws

    /// What arrives: messages, connection changes, messages dropped as invalid.
    var events: Events { get }
}

extension ClusterTransport {
    /// Publishes `messages` one at a time, in order.
    public func publish(_ messages: [ClusterMessage]) async throws {
        for message in messages { try await publish(message) }
    }

    public func publish(_ messages: [ClusterMessage], started: @escaping @Sendable () -> Void) async throws {
        try await publish(messages)
        started()
    }

    public var maxPublishesInFlight: Int { 1 }

    /// Not measured.
    public var busLag: Duration? { nil }
}
