import EngineIO
import PushinatorJSON

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

    /// The data of the CONNECT answer: the socket id, and its private id while recovery is on for it.
    func connectAnswer(for socket: Socket) -> JSONValue {
        guard let pid = socket.pid else { return ["sid": .string(socket.id)] }
        return ["sid": .string(socket.id), "pid": .string(pid)]
    }

    /// Keeps the session of `socket`, about to leave the namespace for `reason`, when its client may come back.
    func persistIfRecoverable(_ socket: Socket, reason: DisconnectReason) {
        guard recovery != nil, ConnectionStateRecovery.recoverableReasons.contains(reason.text) else { return }
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
