import NIOPosix

/// A value per thread, made on first use (event-loop threads keep theirs for their lifetime).
final class PerThread<Value: AnyObject & Sendable>: Sendable {
    private let storage = ThreadSpecificVariable<Value>()
    private let make: @Sendable () -> Value

    init(make: @escaping @Sendable () -> Value) { self.make = make }

    var currentValue: Value {
        if let value = storage.currentValue { return value }
        let value = make()
        storage.currentValue = value
        return value
    }
}
