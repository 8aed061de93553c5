import NIOCore

/// The packets a polling session holds for its next poll: a ring buffer allocated at the first packet and dropped
/// when the queue is cleared (an upgrade, the end), so that a session on a WebSocket, which never queues, holds none.
struct PollingQueue: Sequence {
    private var buffer: CircularBuffer<EngineIOEncodedPacket>?

    var isEmpty: Bool { buffer?.isEmpty ?? true }
    var count: Int { buffer?.count ?? 0 }
    var first: EngineIOEncodedPacket? { buffer?.first }

    mutating func append(_ packet: EngineIOEncodedPacket) {
        if buffer == nil { buffer = CircularBuffer(initialCapacity: 4) }
        buffer!.append(packet)
    }

    /// Removes the first packet; the queue must not be empty.
    @discardableResult
    mutating func removeFirst() -> EngineIOEncodedPacket { buffer!.removeFirst() }

    /// Empties the queue and gives its buffer back.
    mutating func removeAll() { buffer = nil }

    struct Iterator: IteratorProtocol {
        var base: IndexingIterator<CircularBuffer<EngineIOEncodedPacket>>?
        mutating func next() -> EngineIOEncodedPacket? { base?.next() }
    }

    func makeIterator() -> Iterator { Iterator(base: buffer?.makeIterator()) }
}
