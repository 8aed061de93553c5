public import PushinatorHTTP

/// Where the requests for sessions this server does not hold go, when several servers share the clients (a cluster
/// behind a round-robin balancer): each server's session ids start with its prefix, and a request whose `sid` names
/// another server is forwarded there.
///
/// ```swift
/// engine.forwarder = myClusterForwarder   // its sessionPrefix starts every sid this server hands out
/// ```
public protocol EngineIOSessionForwarder: Sendable {
    /// The prefix of the session ids this server hands out (see ``EngineIOSessionOwner``).
    var sessionPrefix: String { get }

    /// Answers a request whose session this server does not hold: the owner's response when the request was
    /// forwarded, `nil` when the session is nobody's (the server then answers 400 `Session ID unknown`).
    /// - Parameters:
    ///   - request: The polling request or WebSocket upgrade.
    ///   - context: Its context.
    ///   - sid: Its session id.
    func forward(_ request: Request, context: RequestContext, sid: String) async -> Response?
}
