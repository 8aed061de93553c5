public import PushinatorHTTP
import Synchronization

/// What an ``EngineIOServer`` counts for metrics: sessions on a WebSocket, upgrades, and slow consumers.
///
/// Updated when a session opens, upgrades or closes, never per message: the only per-message case is a message
/// dropped for a slow client (``SlowConsumerPolicy/drop``), which is already the slow path.
public final class EngineIOStatistics: Sendable {
    private let webSocketCount = Atomic<Int>(0)
    private let upgradeCount = Atomic<Int>(0)
    /// Connections closed and messages dropped because a client did not read: WebSocket queues past
    /// ``WebSocketConfiguration/maxBufferedBytes`` and polling queues past ``EngineIOConfiguration/maxBufferedBytes``.
    public let slowConsumers = SlowConsumerCounter()

    init() {}

    /// Open sessions whose transport is a WebSocket (the others poll).
    public var webSocketSessions: Int { webSocketCount.load(ordering: .relaxed) }
    /// Sessions that upgraded from polling to a WebSocket, since start.
    public var upgrades: Int { upgradeCount.load(ordering: .relaxed) }

    func webSocketOpened(upgrade: Bool) {
        webSocketCount.add(1, ordering: .relaxed)
        if upgrade { upgradeCount.add(1, ordering: .relaxed) }
    }

    func webSocketClosed() { webSocketCount.subtract(1, ordering: .relaxed) }
}
