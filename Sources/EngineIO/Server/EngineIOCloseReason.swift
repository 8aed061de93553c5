/// Why a session ended, in the words Socket.IO gives to disconnect handlers.
public struct EngineIOCloseReason: Sendable, Hashable, CustomStringConvertible {
    /// The reason text (`"ping timeout"`, `"transport close"`...).
    public let text: String

    /// The client did not answer a ping in time.
    public static var pingTimeout: Self { .init(text: "ping timeout") }
    /// The connection was closed by the client or lost.
    public static var transportClose: Self { .init(text: "transport close") }
    /// The client sent something invalid or broke the protocol.
    public static var transportError: Self { .init(text: "transport error") }
    /// The client sent a close packet.
    public static var clientClose: Self { .init(text: "client close") }
    /// The server closed the session.
    public static var forcedClose: Self { .init(text: "forced close") }
    /// The server is shutting down.
    public static var serverShuttingDown: Self { .init(text: "server shutting down") }
    /// The client could not keep up with the messages sent to it.
    public static var slowConsumer: Self { .init(text: "slow consumer") }

    public var description: String { text }
}
