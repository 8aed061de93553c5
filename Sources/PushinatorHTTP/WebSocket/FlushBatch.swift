import NIOCore

/// The connections of one event-loop thread that asked for a flush during the current tick.
///
/// One task per tick flushes them all, instead of one task per connection.
final class FlushBatch: @unchecked Sendable {
    // Only touched on the thread that owns it.
    /// `@exclusivity(unchecked)`: confined to one thread, and no access can start another (the append and the
    /// removal call nothing that reaches this batch: the flush loop runs over a copy); the runtime check cost a
    /// broadcast ~80 instructions per recipient (`swift_beginAccess` in ``add(_:on:)``).
    @exclusivity(unchecked) private var pending: [WebSocketConnection] = []
    private var scheduled = false

    func add(_ connection: WebSocketConnection, on eventLoop: any EventLoop) {
        pending.append(connection)
        guard !scheduled else { return }
        scheduled = true
        eventLoop.execute { self.flushAll() }
    }

    private func flushAll() {
        scheduled = false
        let connections = pending
        pending.removeAll(keepingCapacity: true)
        for connection in connections { connection.flushNow() }
    }
}
