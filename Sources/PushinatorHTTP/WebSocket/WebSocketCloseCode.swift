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
    /// 1013: the server is overloaded (its memory budget is spent); the client may reconnect later.
    public static var tryAgainLater: Self { .init(1013) }

    public var description: String { String(rawValue) }
}
