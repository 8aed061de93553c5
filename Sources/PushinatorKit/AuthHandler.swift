import Logging
import NIOCore
import PushinatorJSON
public import PushinatorSocketIO

/// The user a socket authenticated as.
public enum AuthenticatedUser: SocketStorageKey { public typealias Value = String }

/// Authenticates browser sockets: `emit('auth', userId, hash, ack)` on the client namespace.
///
/// A socket whose hash matches the registered one joins its user's room (``PushApp/room(of:)``) and the
/// `authenticated` room, and is acknowledged `{ok: true}`; anything else is acknowledged `{ok: false, error}`
/// and disconnected. Failed attempts are counted by the ``AuthThrottle``. A second `auth` moves the socket.
public struct AuthHandler: Sendable {
    let users: UserRegistry
    let throttle: AuthThrottle

    /// Creates a handler checking hashes in `users` and counting failures in `throttle`.
    public init(users: UserRegistry, throttle: AuthThrottle) {
        self.users = users
        self.throttle = throttle
    }

    /// Installs the `auth` event handler and the disconnect bookkeeping on `clients`.
    public func install(on clients: Namespace) {
        let (users, throttle) = (self.users, self.throttle)
        clients.on("auth") { socket, event in
            let address = socket.handshake.address?.ipAddress ?? "unknown"
            func refuse(_ reason: String) {
                event.ack(["ok": false, "error": .string(reason)])
                socket.disconnect()
            }
            guard throttle.allows(address) else { return refuse("Too many failed attempts, try again later") }
            guard let userID = AdminAPI.userID(event.arguments.first),
                let hash = event.arguments.count > 1 ? AdminAPI.userID(event.arguments[1]) : nil
            else { return refuse("auth needs a userId and a hash") }
            guard users.verify(userID, hash: hash) else {
                throttle.recordFailure(address)
                clients.logger.info("auth refused", metadata: ["sio.sid": "\(socket.id)", "push.user": "\(userID)"])
                return refuse("Unknown user or wrong hash")
            }
            if let previous = socket[AuthenticatedUser.self] {  // a second auth moves the socket
                socket.leave(PushApp.room(of: previous))
                users.connectionClosed(previous)
            }
            socket[AuthenticatedUser.self] = userID
            socket.join(PushApp.room(of: userID), "authenticated")
            users.connectionOpened(userID)
            clients.logger.debug("auth accepted", metadata: ["sio.sid": "\(socket.id)", "push.user": "\(userID)"])
            event.ack(["ok": true])
        }
        clients.onDisconnect { socket, _ in
            if let userID = socket[AuthenticatedUser.self] { users.connectionClosed(userID) }
        }
    }
}
