/// Receives the messages and the end of one ``EngineIOSession``; called on the session's event loop.
public protocol EngineIOSessionDelegate: AnyObject {
    /// A message packet arrived.
    func session(_ session: EngineIOSession, didReceive message: EngineIOMessage)
    /// The session ended.
    func session(_ session: EngineIOSession, didCloseWith reason: EngineIOCloseReason)
}
