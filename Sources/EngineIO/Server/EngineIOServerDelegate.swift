public import PushinatorHTTP

/// Receives the sessions of an ``EngineIOServer`` (the Socket.IO layer is one).
public protocol EngineIOServerDelegate: AnyObject, Sendable {
    /// A session finished its handshake. Called on the session's event loop; set
    /// ``EngineIOSession/delegate`` here.
    func engineIO(_ server: EngineIOServer, didOpen session: EngineIOSession, request: Request, context: RequestContext)
}
