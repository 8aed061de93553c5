import HTTPTypes
import PushinatorHTTP
import PushinatorJSON

/// An HTTP error of the Engine.IO protocol: status 400 (or 403, 413, 503) with the body the reference server sends,
/// `{"code":1,"message":"Session ID unknown"}`.
struct EngineIOHTTPError: HTTPResponseError, Hashable {
    let status: HTTPResponse.Status
    let code: Int
    let message: String

    static var unknownTransport: Self { .init(status: .badRequest, code: 0, message: "Transport unknown") }
    static var unknownSession: Self { .init(status: .badRequest, code: 1, message: "Session ID unknown") }
    static var badHandshakeMethod: Self { .init(status: .badRequest, code: 2, message: "Bad handshake method") }
    static var badRequest: Self { .init(status: .badRequest, code: 3, message: "Bad request") }
    static func forbidden(_ message: String) -> Self { .init(status: .forbidden, code: 4, message: message) }
    static var unsupportedProtocolVersion: Self {
        .init(status: .badRequest, code: 5, message: "Unsupported protocol version")
    }
    static var payloadTooLarge: Self { .init(status: .contentTooLarge, code: 3, message: "Payload too large") }
    /// The process-wide memory budget refused the payload (503, so that the client retries later).
    static var serverBusy: Self {
        .init(status: .serviceUnavailable, code: 3, message: "Server busy: its memory budget is spent, try again later")
    }

    func response(for request: Request) -> Response {
        .json(["code": .integer(code), "message": .string(message)], status: status)
    }
}
