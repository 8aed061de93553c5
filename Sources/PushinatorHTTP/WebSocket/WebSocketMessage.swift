public import NIOCore

/// A complete WebSocket message (fragments already reassembled).
public enum WebSocketMessage: Sendable, Hashable {
    /// A text message; the bytes are valid UTF-8.
    case text(ByteBuffer)
    /// A binary message.
    case binary(ByteBuffer)

    /// A text message from a string.
    public static func text(_ string: String) -> WebSocketMessage { .text(ByteBuffer(string: string)) }

    /// The payload bytes.
    public var buffer: ByteBuffer {
        switch self {
        case .text(let buffer), .binary(let buffer): buffer
        }
    }

    /// The text, for text messages.
    public var string: String? {
        if case .text(let buffer) = self { String(buffer: buffer) } else { nil }
    }
}

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

/// A WebSocket close code.
public struct WebSocketCloseCode: Sendable, Hashable, CustomStringConvertible {
    /// The numeric code.
    public var rawValue: UInt16
    /// Creates a code.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// 1000
    public static var normalClosure: Self { .init(1000) }
    /// 1001: the server is going down or the page is navigating away.
    public static var goingAway: Self { .init(1001) }
    /// 1002
    public static var protocolError: Self { .init(1002) }
    /// 1003
    public static var unacceptableData: Self { .init(1003) }
    /// 1007: a text message was not valid UTF-8.
    public static var invalidPayload: Self { .init(1007) }
    /// 1008: a policy was violated (for example, the client did not read fast enough).
    public static var policyViolation: Self { .init(1008) }
    /// 1009: a message was larger than the limit.
    public static var messageTooLarge: Self { .init(1009) }
    /// 1011
    public static var unexpectedServerError: Self { .init(1011) }

    public var description: String { String(rawValue) }
}
