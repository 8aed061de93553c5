/// What the WebSocket upgrader decided for the request in flight on one connection.
///
/// The upgrader runs the router for `Upgrade: websocket` requests. When the route accepts, the accepted
/// ``WebSocketUpgrade`` is kept here until the pipeline is switched; when it refuses, its response is kept here
/// and sent by ``HTTPConnectionHandler`` when the refused request reaches it, so the router runs once per request.
/// Only touched on the connection's event loop.
final class UpgradeState: @unchecked Sendable {
    private var refusal: Response?
    private var accepted: WebSocketUpgrade?

    func refuse(with response: Response) { refusal = response }
    func takeRefusal() -> Response? {
        defer { refusal = nil }
        return refusal
    }
    func accept(_ upgrade: WebSocketUpgrade) { accepted = upgrade }
    func takeAccepted() -> WebSocketUpgrade? {
        defer { accepted = nil }
        return accepted
    }
}
