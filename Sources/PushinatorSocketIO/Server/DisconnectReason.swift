/// Why a socket left its namespace, as given to disconnect handlers (the same words as the Node.js server).
public struct DisconnectReason: Sendable, Hashable, CustomStringConvertible {
    /// The reason text.
    public let text: String

    /// The server called ``Socket/disconnect(close:)``.
    public static var serverNamespaceDisconnect: Self { .init(text: "server namespace disconnect") }
    /// The client left the namespace (`socket.disconnect()` in the client).
    public static var clientNamespaceDisconnect: Self { .init(text: "client namespace disconnect") }
    /// The server is shutting down.
    public static var serverShuttingDown: Self { .init(text: "server shutting down") }
    /// The client sent a packet that could not be parsed.
    public static var parseError: Self { .init(text: "parse error") }

    /// The reason for the end of the underlying Engine.IO session ("transport close", "ping timeout"...).
    public static func transport(_ text: String) -> Self { .init(text: text) }

    public var description: String { text }
}
