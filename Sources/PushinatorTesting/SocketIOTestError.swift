public import PushinatorJSON

/// What a ``SocketIOTestClient`` throws.
public enum SocketIOTestError: Error, CustomStringConvertible, Sendable {
    /// A bounded wait ended before what it waited for arrived.
    case timeout(String)
    /// The server refused the namespace connection with a CONNECT_ERROR packet: its `message` and `data`.
    case connectRefused(message: String, data: JSONValue?)
    /// The socket is disconnected; the reason as the official clients name it (`io server disconnect`,
    /// `transport close`, `io client disconnect`, `parse error`, ...).
    case disconnected(reason: String)
    /// The server answered an HTTP request of the Engine.IO handshake or polling with an unexpected status.
    case httpStatus(Int, String)
    /// The server sent something that is not valid Engine.IO or Socket.IO.
    case protocolViolation(String)
    /// The transport asked for cannot be used with this test client (WebSocket needs a live server).
    case unsupportedTransport(String)
    /// More unread events piled up than the client holds (the test does not read them).
    case overflow(Int)

    public var description: String {
        switch self {
        case .timeout(let what): what
        case .connectRefused(let message, let data): "connection refused: \(message)" + (data.map { " \($0)" } ?? "")
        case .disconnected(let reason): "disconnected: \(reason)"
        case .httpStatus(let status, let body): "HTTP \(status): \(body)"
        case .protocolViolation(let what): "protocol violation: \(what)"
        case .unsupportedTransport(let what): what
        case .overflow(let limit): "more than \(limit) unread events"
        }
    }
}
