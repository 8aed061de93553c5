public import NIOCore

/// A value that only its event loop's code may read and set: the owner's code, which runs on that loop, uses
/// ``unchecked``; a public accessor that others may call checks the loop with ``get(on:)`` and ``set(_:on:)``.
///
/// For the delegates of loop-confined connections (the Engine.IO session's, the WebSocket connection's). It holds
/// the value only (the owner has its loop), so it costs no memory:
///
/// ```swift
/// public var delegate: (any WebSocketDelegate)? {
///     get { _delegate.get(on: eventLoop) }
///     set { _delegate.set(newValue, on: eventLoop) }
/// }
/// private var _delegate = LoopConfined<(any WebSocketDelegate)?>(nil)
/// _delegate.unchecked?.webSocket(self, didReceive: message)  // the owner's code, on the loop
/// ```
public struct LoopConfined<Value> {
    /// The value, for code that runs on the loop already.
    public var unchecked: Value

    /// Holds `value`.
    @inlinable
    public init(_ value: Value) { unchecked = value }

    /// The value; a precondition checks that the caller runs on `eventLoop`.
    @inlinable
    public func get(on eventLoop: any EventLoop) -> Value {
        eventLoop.preconditionInEventLoop()
        return unchecked
    }

    /// Sets the value; a precondition checks that the caller runs on `eventLoop`.
    @inlinable
    public mutating func set(_ value: Value, on eventLoop: any EventLoop) {
        eventLoop.preconditionInEventLoop()
        unchecked = value
    }
}
