/// Receives the events of a ``WebSocketConnection`` on its event loop.
///
/// Calls are made on the connection's event loop, one at a time, in order; keep them short.
public protocol WebSocketDelegate: AnyObject {
    /// A message arrived.
    func webSocket(_ connection: WebSocketConnection, didReceive message: WebSocketMessage)
    /// The connection closed; `code` is the peer's close code when it sent one.
    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?)
    /// The server is shutting down gracefully; the default closes with 1001 (going away).
    func webSocketShouldQuiesce(_ connection: WebSocketConnection)
}

extension WebSocketDelegate {
    public func webSocketShouldQuiesce(_ connection: WebSocketConnection) {
        connection.close(code: .goingAway)
    }
}
