import Synchronization

/// A cluster bus inside one process: the transports it makes deliver to each other, as PostgreSQL would between
/// processes. For tests of code that runs on a ``ClusterTransport`` (several "nodes" in one test), and for
/// simulating a lost connection.
///
/// ```swift
/// let bus = InMemoryClusterBus()
/// let a = bus.makeTransport(), b = bus.makeTransport()
/// try await b.subscribe(namespace: "/")
/// try await a.publish(ClusterMessage(uid: "a", nsp: "/", body: .heartbeat))  // b.events yields it
/// ```
public final class InMemoryClusterBus: Sendable {
    private let transports = Mutex<[InMemoryClusterTransport]>([])

    /// Creates an empty bus.
    public init() {}

    /// A transport on this bus.
    /// - Parameter maxPendingEvents: Events not consumed beyond this many are dropped. Default 100,000.
    /// - Returns: The transport.
    public func makeTransport(maxPendingEvents: Int = 100_000) -> InMemoryClusterTransport {
        let transport = InMemoryClusterTransport(bus: self, maxPendingEvents: maxPendingEvents)
        transports.withLock { $0.append(transport) }
        return transport
    }

    fileprivate func deliver(_ message: ClusterMessage, from sender: InMemoryClusterTransport) {
        for transport in transports.withLock({ $0 }) where transport !== sender {
            transport.receive(message)
        }
    }
}

/// One node's end of an ``InMemoryClusterBus``. It does not echo its own messages.
public final class InMemoryClusterTransport: ClusterTransport {
    private struct State {
        var namespaces: Set<String> = []
        var connected = true
    }

    /// What arrives.
    public let events: AsyncStream<ClusterTransportEvent>
    /// This node's uid: 16 random hex digits.
    public let localUID: String
    private let sink: AsyncStream<ClusterTransportEvent>.Continuation
    private let state = Mutex(State())
    private unowned let bus: InMemoryClusterBus

    fileprivate init(bus: InMemoryClusterBus, maxPendingEvents: Int) {
        self.bus = bus
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        self.localUID = String(repeating: "0", count: 16 - hex.count) + hex
        (events, sink) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(maxPendingEvents))
    }

    /// Hands `message` to every other transport of the bus subscribed to its namespace.
    /// - Throws: ``InMemoryClusterTransportError`` while disconnected (``disconnect()``).
    public func publish(_ message: ClusterMessage) async throws {
        guard state.withLock({ $0.connected }) else { throw InMemoryClusterTransportError() }
        bus.deliver(message, from: self)
    }

    /// Receives the messages of `namespace` from now on.
    public func subscribe(namespace: String) async throws {
        _ = state.withLock { $0.namespaces.insert(namespace) }
    }

    /// Simulates a lost connection: nothing is received or published until ``reconnect()``; what was published
    /// meanwhile is lost (this bus keeps no log).
    public func disconnect() {
        state.withLock { $0.connected = false }
        sink.yield(.disconnected(reason: "disconnect() called"))
    }

    /// Ends a simulated outage.
    public func reconnect() {
        state.withLock { $0.connected = true }
        sink.yield(.reconnected)
    }

    fileprivate func receive(_ message: ClusterMessage) {
        guard state.withLock({ $0.connected && $0.namespaces.contains(message.nsp) }) else { return }
        sink.yield(.message(message))
    }
}
