import EngineIO
import PushinatorJSON

/// What a ``SocketIOServer`` gives the adapter factory for each namespace.
public struct AdapterContext: Sendable {
    /// The namespace name.
    public let namespace: String
    /// The session store when connection state recovery is on, `nil` otherwise.
    public let store: (any SessionStore)?
    /// The namespace's handlers of events from other servers (``Namespace/onServerSideEmit(_:_:)``), which a
    /// cluster adapter runs.
    public let serverSideEvents: ServerSideEvents

    /// Creates a context (for tests and adapters that wrap another one).
    public init(namespace: String, store: (any SessionStore)? = nil, serverSideEvents: ServerSideEvents = ServerSideEvents()) {
        self.namespace = namespace
        self.store = store
        self.serverSideEvents = serverSideEvents
    }
}
