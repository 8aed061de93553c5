/// ``InMemoryClusterTransport/publish(_:)`` while disconnected.
public struct InMemoryClusterTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String { "the in-memory cluster transport is disconnected" }
}
