import PushinatorCluster
import Testing

@Suite struct InMemoryClusterBusTests {
    @Test func deliversToTheOtherSubscribersOfTheNamespaceOnly() async throws {
        let bus = InMemoryClusterBus()
        let a = bus.makeTransport()
        let b = bus.makeTransport()
        let c = bus.makeTransport()
        try await a.subscribe(namespace: "/")
        try await b.subscribe(namespace: "/")
        try await c.subscribe(namespace: "/admin")
        let heartbeat = ClusterMessage(uid: "a", nsp: "/", body: .heartbeat)
        try await a.publish(heartbeat)
        let admin = ClusterMessage(uid: "a", nsp: "/admin", body: .heartbeat)
        try await a.publish(admin)
        var events = b.events.makeAsyncIterator()
        guard case .message(let received) = await events.next(isolation: #isolation) else { Issue.record("no message"); return }
        #expect(received == heartbeat)
        var adminEvents = c.events.makeAsyncIterator()
        guard case .message(let adminReceived) = await adminEvents.next(isolation: #isolation) else { Issue.record("no message"); return }
        #expect(adminReceived == admin)
        // a marker published last proves nothing else reached a or b
        try await c.publish(ClusterMessage(uid: "c", nsp: "/", body: .adapterClose))
        guard case .message(let marker) = await events.next(isolation: #isolation) else { Issue.record("no marker"); return }
        #expect(marker.body == .adapterClose)
        try await b.publish(ClusterMessage(uid: "b", nsp: "/", body: .initialHeartbeat))
        var own = a.events.makeAsyncIterator()
        guard case .message(let first) = await own.next(isolation: #isolation) else { Issue.record("no message"); return }
        #expect(first.uid == "c")
    }

    @Test func aDisconnectedTransportReportsItAndMissesWhatIsPublished() async throws {
        let bus = InMemoryClusterBus()
        let a = bus.makeTransport()
        let b = bus.makeTransport()
        try await b.subscribe(namespace: "/")
        b.disconnect()
        try await a.publish(ClusterMessage(uid: "a", nsp: "/", body: .heartbeat))
        await #expect(throws: InMemoryClusterTransportError.self) {
            try await b.publish(ClusterMessage(uid: "b", nsp: "/", body: .heartbeat))
        }
        b.reconnect()
        try await a.publish(ClusterMessage(uid: "a", nsp: "/", body: .adapterClose))
        var events = b.events.makeAsyncIterator()
        guard case .disconnected = await events.next(isolation: #isolation) else { Issue.record("no disconnected"); return }
        guard case .reconnected = await events.next(isolation: #isolation) else { Issue.record("no reconnected"); return }
        guard case .message(let message) = await events.next(isolation: #isolation) else { Issue.record("no message"); return }
        #expect(message.body == .adapterClose)
    }
}
