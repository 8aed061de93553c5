public import PushinatorJSON

/// Refuses a namespace connection from connect middleware; the client receives a CONNECT_ERROR packet.
///
/// ```swift
/// chat.use { socket in
///     guard socket.handshake.auth["token"]?.string == "secret" else {
///         throw ConnectError("unauthorized", data: ["code": 401])
///     }
/// }
/// ```
/// The official clients raise `connect_error` with `err.message == "unauthorized"` and `err.data.code == 401`.
public struct ConnectError: Error, Sendable, CustomStringConvertible {
    /// The message the client sees.
    public var message: String
    /// Extra data the client sees as `err.data`.
    public var data: JSONValue?

    /// Creates an error.
    public init(_ message: String, data: JSONValue? = nil) {
        self.message = message
        self.data = data
    }

    public var description: String { "ConnectError(\(message))" }

    /// The CONNECT_ERROR payload.
    var payload: JSONValue {
        var object: JSONObject = ["message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }
}
