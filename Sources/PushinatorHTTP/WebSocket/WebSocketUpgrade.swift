public import HTTPTypes
import PushinatorEventLoop

/// The acceptance of a WebSocket upgrade, carried by a ``Response``.
///
/// A route accepts an upgrade by returning ``Response/webSocket(headers:configuration:onUpgrade:)`` (event-loop
/// callbacks, for protocol engines) or ``Response/webSocket(headers:configuration:handler:)`` (async messages).
public struct WebSocketUpgrade: Sendable {
    /// Extra headers of the `101 Switching Protocols` response.
    public var headers: HTTPFields
    /// Limits of this connection; `nil` uses the server's.
    public var configuration: WebSocketConfiguration?
    /// Called on the connection's event loop once the connection speaks WebSocket.
    let onUpgrade: @Sendable (WebSocketConnection) -> Void
    /// Set when the upgrade is relayed from another server (``HTTPForwardingClient``): the connection becomes a
    /// byte pipe to it instead of a ``WebSocketConnection``.
    var tunnel: HTTPTunnel? = nil
}

extension Response {
    /// A response that accepts a WebSocket upgrade and hands the connection to `onUpgrade` on its event loop.
    ///
    /// Set ``WebSocketConnection/delegate`` in `onUpgrade` to receive messages synchronously on the event loop.
    /// Sent to a request that is not a valid upgrade, it becomes a 400.
    public static func webSocket(
        headers: HTTPFields = [:],
        configuration: WebSocketConfiguration? = nil,
        onUpgrade: @escaping @Sendable (WebSocketConnection) -> Void
    ) -> Response {
        var response = Response(status: .switchingProtocols)
        response.webSocketUpgrade = WebSocketUpgrade(headers: headers, configuration: configuration, onUpgrade: onUpgrade)
        return response
    }

    /// A response that accepts a WebSocket upgrade and runs `handler` with the connection; the connection
    /// closes when `handler` returns.
    ///
    /// ```swift
    /// Get("echo") { _, _ in
    ///     Response.webSocket { socket in
    ///         for await message in socket.messages { socket.send(message) }
    ///     }
    /// }
    /// ```
    public static func webSocket(
        headers: HTTPFields = [:],
        configuration: WebSocketConfiguration? = nil,
        handler: @escaping @Sendable (WebSocketConnection) async throws -> Void
    ) -> Response {
        webSocket(headers: headers, configuration: configuration) { connection in
            connection.startMessageStream()
            Task(executorPreference: EventLoopTaskExecutor.preferred(for: connection.eventLoop)) {
                do {
                    try await handler(connection)
                    connection.close(code: .normalClosure)
                } catch {
                    connection.close(code: .unexpectedServerError)
                }
            }
        }
    }
}
