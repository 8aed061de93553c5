public import NIOCore

/// A value per event loop, made on first use and looked up from that loop's thread without a lock.
///
/// For loop-confined services that every connection of a loop shares (``LoopTimers``, ``EventLoopTaskExecutor``):
///
/// ```swift
/// private static let registry = PerLoop<LoopTimers> { LoopTimers(eventLoop: $0) }
/// let timers = registry.value(for: context.eventLoop)  // on that loop
/// ```
///
/// Kept per thread, then per loop: an event-loop thread runs one loop, and only a test that drives several embedded
/// loops from one thread has more. The value is confined to its loop: get it and use it on that loop only.
public final class PerLoop<Value: AnyObject>: Sendable {
    /// The values of the loops that ran on one thread; confined to it.
    @usableFromInline
    final class Values: @unchecked Sendable {
        @usableFromInline var loops: [(id: ObjectIdentifier, value: Value)] = []
        @usableFromInline init() {}
    }

    @usableFromInline let values = PerThread<Values> { Values() }
    @usableFromInline let make: @Sendable (any EventLoop) -> Value

    /// Creates the storage.
    /// - Parameter make: Makes the value of a loop, the first time ``value(for:)`` is called on it.
    public init(make: @escaping @Sendable (any EventLoop) -> Value) { self.make = make }

    /// The value of `eventLoop`, made on first use; call it on that loop.
    /// - Parameter eventLoop: The loop the calling code runs on.
    /// - Returns: The same object every time for the same loop.
    @inlinable
    public func value(for eventLoop: any EventLoop) -> Value {
        let id = ObjectIdentifier(eventLoop)
        let values = self.values.currentValue
        if let index = values.loops.firstIndex(where: { $0.id == id }) { return values.loops[index].value }
        let value = make(eventLoop)
        values.loops.append((id, value))
        return value
    }
}
