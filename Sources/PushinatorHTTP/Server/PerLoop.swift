import NIOCore

/// A value per event loop, made on first use and looked up from that loop's thread without a lock.
///
/// Kept per thread, then per loop: an event-loop thread runs one loop, and only a test that drives several embedded
/// loops from one thread has more.
final class PerLoop<Value: AnyObject>: Sendable {
    /// The values of the loops that ran on one thread; confined to it.
    private final class Values: @unchecked Sendable {
        var loops: [(id: ObjectIdentifier, value: Value)] = []
    }

    private let values = PerThread<Values> { Values() }
    private let make: @Sendable (any EventLoop) -> Value

    init(make: @escaping @Sendable (any EventLoop) -> Value) { self.make = make }

    /// The value of `eventLoop`; call it on that loop.
    func value(for eventLoop: any EventLoop) -> Value {
        let id = ObjectIdentifier(eventLoop)
        let values = self.values.currentValue
        if let index = values.loops.firstIndex(where: { $0.id == id }) { return values.loops[index].value }
        let value = make(eventLoop)
        values.loops.append((id, value))
        return value
    }
}
