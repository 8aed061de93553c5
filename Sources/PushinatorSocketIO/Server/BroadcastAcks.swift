import EngineIO
public import PushinatorJSON

/// The answers to ``SocketIOAdapter/broadcastWithAck(_:to:flags:timeout:)``.
public struct BroadcastAcks: Sendable, Equatable {
    /// How many sockets the event was sent to.
    public var expected: Int
    /// The arguments of each answer that arrived in time, in arrival order.
    public var responses: [[JSONValue]]

    /// Creates a result.
    public init(expected: Int, responses: [[JSONValue]]) {
        self.expected = expected
        self.responses = responses
    }
}
