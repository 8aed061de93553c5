import EngineIO
import Logging
import PushinatorJSON
import Synchronization

/// What connection state recovery does with a client's CONNECT.
enum RecoveryRequest: Equatable {
    /// Recovery is off for this socket: no private id, no offsets.
    case off
    /// A new session with a private id.
    case fresh
    /// The client asks for its session back.
    case restore(pid: String, offset: String?)
}

extension Namespace {
    /// Records a connected socket under its private id.
    func track(_ socket: Socket) {
        guard let pid = socket.pid else { return }
        liveSessions.withLock { $0[pid] = socket }
    }

    /// Forgets a socket that left the namespace.
    func untrack(_ socket: Socket) {
        guard let pid = socket.pid else { return }
        liveSessions.withLock { if $0[pid] === socket { $0[pid] = nil } }
    }

    /// The session with private id `pid`, taken back when every ``allowRecovery(_:)`` check admits it.
    ///
    /// A client may come back while its old connection still looks alive to the server: a polling client whose
    /// network failed (the server only notices at the next heartbeat), a WebSocket whose close never arrived. That
    /// connection is then dropped (as "forced close", which keeps its session) and its session taken back, so
    /// the client does not lose what it missed to a race with the heartbeat.
    func restoreSession(pid: String, offset: String?) async -> RestoredSession? {
        // the live connection first: a cluster's adapter would otherwise take its session from the shared store
        // while it is still here
        guard let live = liveSessions.withLock({ $0[pid] }) else {
            return admitted(await adapter.restoreSession(pid: pid, offset: offset))
        }
        live.dropConnection()
        var waited = 0
        while live.isConnected, waited < 100 {  // its removal runs on its own loop: at most 1 s
            try? await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        return admitted(await adapter.restoreSession(pid: pid, offset: offset))
    }

    /// `restored` when every ``allowRecovery(_:)`` check admits its session, `nil` otherwise.
    func admitted(_ restored: RestoredSession?) -> RestoredSession? {
        guard let restored else { return nil }
        for check in recoveryChecks where !check(restored.session) {
            logger.debug("recovery refused by a check", metadata: ["sio.sid": "\(restored.session.id)"])
            return nil
        }
        return restored
    }

    /// What to do with a CONNECT carrying `auth`: recovery is off in the server, for Engine.IO v3 clients, and for
    /// a client that sent `{"recovery": false}`; a `pid` (with or without an `offset`) asks for a session back.
    func recoveryRequest(auth: JSONValue, legacyProtocol: Bool) -> RecoveryRequest {
        guard recovery != nil, !legacyProtocol, auth["recovery"]?.bool != false else { return .off }
        guard let pid = auth["pid"]?.string, !pid.isEmpty else { return .fresh }
        return .restore(pid: pid, offset: auth["offset"]?.string)
    }

    /// Whether `socket` may skip the connect middleware (it was recovered and the setting says so).
    func skipsMiddleware(for socket: Socket) -> Bool {
        socket.recovered && recovery?.skipMiddlewares == true
    }

    /// Keeps the session of `socket`, about to leave the namespace for `reason`, when its client may come back.
    func persistIfRecoverable(_ socket: Socket, reason: DisconnectReason) {
        guard recovery != nil else { return }
        let recoverable = ConnectionStateRecovery.recoverableReasons.contains(reason.text)
        if let crossNode = sessionStore as? any CrossNodeSessionStore, let pid = socket.pid {
            crossNode.sessionClosed(pid: pid, recoverable: recoverable)
        }
        guard recoverable else { return }
        guard let session = socket.persistedSession(rooms: adapter.rooms(of: socket), at: .now) else { return }
        adapter.persistSession(session)
    }

    /// Puts back a session that was taken for a socket that could not be accepted after all (its connection
    /// closed while it was being recovered).
    func persistAgain(_ socket: Socket) {
        guard let restoration = socket.restoration else { return }
        adapter.persistSession(restoration.session)
    }
}
