/// An Engine.IO transport.
public struct EngineIOTransport: Sendable, Hashable, CustomStringConvertible {
    /// The name used in the `transport` query parameter.
    public let name: String

    /// HTTP long-polling.
    public static var polling: Self { .init(name: "polling") }
    /// WebSocket.
    public static var websocket: Self { .init(name: "websocket") }

    public var description: String { name }
}
