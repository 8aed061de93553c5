/// How a ``SocketIOTestClient`` reaches the server.
public struct SocketIOTestTransport: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case polling
        case webSocket
        case pollingThenWebSocket
    }

    let kind: Kind

    /// HTTP long-polling only (works in process too: the requests go to the responder without a socket).
    public static var polling: Self { .init(kind: .polling) }

    /// A WebSocket from the first request (the official clients' `transports: ["websocket"]`); needs a live server.
    public static var webSocket: Self { .init(kind: .webSocket) }

    /// The official clients' default: the handshake over polling, then the upgrade to WebSocket (`2probe`,
    /// `3probe`, the held poll ends, `5`); needs a live server.
    public static var pollingThenWebSocket: Self { .init(kind: .pollingThenWebSocket) }
}
