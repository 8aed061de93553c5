public import NIOPosix

/// A value per thread, made on first use; event-loop threads keep theirs for their lifetime.
///
/// For state that every connection of an event-loop thread shares and that must be reached without a lock, such as
/// a batch of connections to flush at the end of the loop's tick:
///
/// ```swift
/// private static let flushBatches = PerThread<FlushBatch> { FlushBatch() }
/// let batch = Self.flushBatches.currentValue  // on the loop: this thread's batch, made on first use
/// ```
///
/// The value is confined to the thread that made it: read ``currentValue`` and use what it returns on that thread
/// only. Prefer ``PerLoop`` for values that belong to an event loop rather than to a thread.
public final class PerThread<Value: AnyObject & Sendable>: Sendable {
    @usableFromInline let storage = ThreadSpecificVariable<Value>()
    @usableFromInline let make: @Sendable () -> Value

    /// Creates the storage.
    /// - Parameter make: Makes the value of a thread, the first time ``currentValue`` is read on it.
    public init(make: @escaping @Sendable () -> Value) { self.make = make }

    /// The calling thread's value, made by `make` on first use.
    @inlinable
    public var currentValue: Value {
        if let value = storage.currentValue { return value }
        let value = make()
        storage.currentValue = value
        return value
    }
}
