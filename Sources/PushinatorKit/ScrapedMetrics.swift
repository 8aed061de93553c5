import EngineIO
import Prometheus
import PushinatorHTTP
import PushinatorRuntime
import PushinatorSocketIO

/// The metrics ``PushMetrics`` reads from the servers when Prometheus scrapes, never on a message path: Engine.IO
/// sessions by transport, upgrades, slow consumers, messages sent and delivered, the offline queue, connection state
/// recovery, the event-loop lag and logged warnings.
/// Their handles are made once; the counters follow totals the servers keep.
final class ScrapedMetrics: Sendable {
    private let polling: Gauge
    private let webSocket: Gauge
    private let upgrades: FollowingCounter
    private let slowDisconnects: FollowingCounter
    private let slowDrops: FollowingCounter
    private let sent: FollowingCounter
    private let delivered: FollowingCounter
    private let queuedMessages: Gauge
    private let queuedBytes: Gauge
    private let queueDropped: FollowingCounter
    private let queueExpired: FollowingCounter
    private let recoverySessions: Gauge
    private let recoveryMessages: Gauge
    private let recoveryBytes: Gauge
    private let recovered: FollowingCounter
    private let recoveryRefused: FollowingCounter
    private let recoveryDropped: FollowingCounter
    private let recoveryExpired: FollowingCounter
    private let loopLag: Gauge
    private let warnings: FollowingCounter

    init(registry: PrometheusCollectorRegistry) {
        func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            .init(namespace: "pushinator", metricName: name, unitName: unit, helpText: help)
        }
        let transport = name("transport_connections", "", "open Engine.IO connections by transport")
        polling = registry.makeGauge(descriptor: transport, labels: [("transport", "polling")])
        webSocket = registry.makeGauge(descriptor: transport, labels: [("transport", "websocket")])
        upgrades = FollowingCounter(registry.makeCounter(descriptor: name("upgrades", "total", "connections upgraded from polling to WebSocket")))
        let slow = name("slow_consumers", "total", "slow clients: connections closed, or messages dropped, because the client did not read")
        slowDisconnects = FollowingCounter(registry.makeCounter(descriptor: slow, labels: [("action", "disconnect")]))
        slowDrops = FollowingCounter(registry.makeCounter(descriptor: slow, labels: [("action", "drop")]))
        sent = FollowingCounter(registry.makeCounter(descriptor: name("messages_sent", "total", "messages the backend sent (/user/send, /broadcast)")))
        delivered = FollowingCounter(registry.makeCounter(descriptor: name("messages_delivered", "total", "copies of messages handed to sockets")))
        queuedMessages = registry.makeGauge(descriptor: name("offline_queue_messages", "", "messages queued for offline users"))
        queuedBytes = registry.makeGauge(descriptor: name("offline_queue", "bytes", "bytes of messages queued for offline users"))
        let queueLost = name("offline_queue_lost", "total", "queued messages removed undelivered: dropped by a limit or expired")
        queueDropped = FollowingCounter(registry.makeCounter(descriptor: queueLost, labels: [("reason", "limit")]))
        queueExpired = FollowingCounter(registry.makeCounter(descriptor: queueLost, labels: [("reason", "expired")]))
        recoverySessions = registry.makeGauge(descriptor: name("recovery_sessions", "", "disconnected sessions kept for connection state recovery"))
        recoveryMessages = registry.makeGauge(descriptor: name("recovery_buffered_messages", "", "messages kept for connection state recovery"))
        recoveryBytes = registry.makeGauge(descriptor: name("recovery_buffered", "bytes", "bytes kept for connection state recovery (messages and sessions)"))
        let connects = name("recovery_connects", "total", "reconnects that asked for their session back, by outcome")
        recovered = FollowingCounter(registry.makeCounter(descriptor: connects, labels: [("outcome", "recovered")]))
        recoveryRefused = FollowingCounter(registry.makeCounter(descriptor: connects, labels: [("outcome", "refused")]))
        let recoveryLost = name("recovery_lost", "total", "messages and sessions removed from the recovery buffer before anyone came back for them")
        recoveryDropped = FollowingCounter(registry.makeCounter(descriptor: recoveryLost, labels: [("reason", "limit")]))
        recoveryExpired = FollowingCounter(registry.makeCounter(descriptor: recoveryLost, labels: [("reason", "expired")]))
        loopLag = registry.makeGauge(descriptor: name("event_loop_lag", "seconds", "how late the slowest event loop ran its last probe task"))
        warnings = FollowingCounter(registry.makeCounter(descriptor: name("log_warnings", "total", "messages logged at warning level or above")))
    }

    /// Reads the values from `app`.
    func update(from app: PushApp) {
        let engine = app.io.engine
        let sessions = engine.sessionCount
        let webSockets = min(sessions, engine.statistics.webSocketSessions)
        polling.set(Int64(sessions - webSockets))
        webSocket.set(Int64(webSockets))
        upgrades.follow(engine.statistics.upgrades)
        slowDisconnects.follow(engine.statistics.slowConsumers.disconnects)
        slowDrops.follow(engine.statistics.slowConsumers.drops)
        sent.follow(app.messagesSent.value)
        delivered.follow(app.messagesDelivered.value)
        let queue = app.users.store.queueStatistics
        queuedMessages.set(Int64(queue.messages))
        queuedBytes.set(Int64(queue.bytes))
        queueDropped.follow(queue.dropped)
        queueExpired.follow(queue.expired)
        let recovery = app.io.recoveryStatistics
        recoverySessions.set(Int64(recovery.sessions))
        recoveryMessages.set(Int64(recovery.packets))
        recoveryBytes.set(Int64(recovery.bytes))
        recovered.follow(recovery.recovered)
        recoveryRefused.follow(recovery.refused)
        recoveryDropped.follow(recovery.droppedPackets + recovery.droppedSessions)
        recoveryExpired.follow(recovery.expired)
        let (seconds, attoseconds) = app.eventLoopLag.current.components
        loopLag.set(Double(seconds) + Double(attoseconds) / 1e18)
        warnings.follow(app.warnings.total)
    }
}
