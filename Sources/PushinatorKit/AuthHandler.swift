import Logging
import Synchronization
import NIOCore
public import PushinatorHTTP
import Prometheus
import PushinatorJSON
public import PushinatorSocketIO

/// Authenticates browser sockets: `emit('auth', userId, hash, ack)` on the client namespace.
///
/// A socket whose hash matches the registered one joins its user's room (``PushApp/room(of:)``) and the
/// `authenticated` room, and is acknowledged `{ok: true}`; anything else is acknowledged `{ok: false, error}`
/// and disconnected. Failed attempts are counted by the ``AuthThrottle`` per client address (behind a trusted
/// proxy, the one its `X-Forwarded-For` names) and user id; user ids and hashes longer than
/// ``UserRegistry/maximumUserIDLength`` and ``UserRegistry/maximumHashLength`` are refused. A second `auth` moves
/// the socket. When the backend registers another hash, ``AdminRouter`` disconnects the user's sockets; one that
/// authenticated with the old hash while that happened is refused here.
///
/// Messages queued for the user while it had no connection (``UserStore``) are sent right after the ack
/// (`{ok: true, queued: N}`) and before the socket joins its room, so nothing newer overtakes them. A store shared
/// by the nodes of a cluster (``UserStore/isShared``) is asked for a user this node has not heard of, and its queue
/// is taken from the database before that step (``UserStore/claim(for:now:)``).
///
/// Over a store that is not shared, `auth` never waits: it is answered on the event loop without a task
/// (``Namespace/on(_:synchronously:handler:)``), and the usual ack (`{ok: true, queued: 0}`) is encoded once. The
/// hash's SHA-256 digest is computed once per `auth`, and that digest is checked again under the delivery lock.
///
/// With connection state recovery on, a socket whose transport dropped comes back with its rooms and its user, and
/// counts as authenticated without a new `auth` (a new one is harmless). Every message queued for an offline user
/// is also sent to its room, so a tab in its recovery window gets it in its replay; its queued copy is then
/// dropped. A session is not taken back when its hash no longer opens its user (another hash registered, the user
/// unregistered or expired while it was away): the client gets a fresh session and its `auth` is refused.
public struct AuthHandler: Sendable {
    let users: UserRegistry
    let throttle: AuthThrottle
    let metrics: PushMetrics?
    let trustedProxies: @Sendable () -> TrustedProxies
    let delivery: DeliveryLock
    let rawMessages: @Sendable () -> Bool
    let onAccepted: (@Sendable (_ userID: String) -> Void)?
    let onRecovered: (@Sendable (_ userID: String) -> Void)?

    /// Creates a handler checking hashes in `users` and counting failures in `throttle`.
    /// - Parameters:
    ///   - users: The registry the hashes are checked against.
    ///   - throttle: Counts failures per client address and user.
    ///   - trustedProxies: The proxies whose forwarding headers name the client's address (read at each `auth`,
    ///     so a reload applies); none by default.
    ///   - onAccepted: Runs after each accepted `auth` (a cluster asks the other nodes for the user's queue).
    ///   - onRecovered: Runs after a socket of a user was recovered (a cluster tells the other nodes to drop the
    ///     user's queue: what they queued while the socket was away was in its replay).
    public init(
        users: UserRegistry,
        throttle: AuthThrottle,
        metrics: PushMetrics? = nil,
        trustedProxies: @escaping @Sendable () -> TrustedProxies = { .none },
        delivery: DeliveryLock = DeliveryLock(),
        rawMessages: @escaping @Sendable () -> Bool = { false },
        onAccepted: (@Sendable (_ userID: String) -> Void)? = nil,
        onRecovered: (@Sendable (_ userID: String) -> Void)? = nil
    ) {
        self.onRecovered = onRecovered
        self.users = users
        self.throttle = throttle
        self.metrics = metrics
        self.trustedProxies = trustedProxies
        self.delivery = delivery
        self.rawMessages = rawMessages
        self.onAccepted = onAccepted
    }

    /// Installs the `auth` event handler and the disconnect bookkeeping on `clients`.
    public func install(on clients: Namespace) {
        let (users, delivery, onRecovered) = (self.users, self.delivery, self.onRecovered)
        clients.allowRecovery { session in
            guard let userID = session.storage[AuthenticatedUser.self] else { return true }  // never authenticated
            // restored from another node of a cluster: no digest travels, the user must still be registered
            guard let digest = session.storage[AuthenticatedHash.self] else { return users.contains(userID) }
            return users.verify(userID, digest: digest)  // revoked while it was away: a fresh session
        }
        // nothing in it suspends: no task per connect
        let recovered: @Sendable (Socket) -> Void = { socket in
            // A socket recovered by connection state recovery comes back authenticated. Everything queued for its
            // user while it was away was also sent to the user's room: it was in the replay (or arrived live once
            // the socket was back in the room), so the queued copies are not handed over again.
            guard let userID = socket[AuthenticatedUser.self] else { return }
            let admitted = delivery.withLock { () -> Bool in
                // checked again: the hash may have rotated after the recovery check, before the socket was back in
                // its user's room, where the rotation's disconnect would have found it
                let digest = socket[AuthenticatedHash.self]
                guard digest.map({ users.verify(userID, digest: $0) }) ?? users.contains(userID) else { return false }
                users.connectionOpened(userID)
                _ = users.store.take(for: userID, now: WallClock.milliseconds())
                return true
            }
            guard !admitted else {
                onRecovered?(userID)  // a cluster: the other nodes' queued copies were in the replay too
                return
            }
            socket[AuthenticatedUser.self] = nil
            socket[AuthenticatedHash.self] = nil
            socket.disconnect()
        }
        clients.onConnection(synchronously: { recovered($0); return true }, handler: recovered)
        // On the event loop without a task unless the store is shared: only a shared store's reads suspend.
        clients.on("auth", synchronously: { [self] socket, event in
            guard !users.store.isShared else { return false }
            guard let attempt = attempt(socket, event, in: clients) else { return true }
            guard users.verify(attempt.userID, digest: attempt.digest) else {
                refuseUnknown(attempt, in: clients)
                return true
            }
            admit(attempt, claimed: nil, in: clients)
            return true
        }, handler: { [self] socket, event in
            guard let attempt = attempt(socket, event, in: clients) else { return }
            // a shared store (PostgreSQL) reads a user this node has not heard of from the database
            var known = users.verify(attempt.userID, digest: attempt.digest)
            if !known, users.store.isShared, !users.contains(attempt.userID), await users.store.reload(attempt.userID) {
                known = users.verify(attempt.userID, digest: attempt.digest)
            }
            guard known else { return refuseUnknown(attempt, in: clients) }
            // A shared store's queue is taken from the database first (on every node at most one auth gets a
            // message); a failure leaves it there for the next auth, and the auth goes on.
            var claimed: [QueuedMessage]?
            if users.store.isShared {
                do throws(UserStoreError) {
                    claimed = try await users.store.claim(for: attempt.userID, now: WallClock.milliseconds())
                } catch {
                    claimed = []
                    clients.logger.warning(
                        "queued messages not taken at auth",
                        metadata: ["push.user": "\(attempt.userID)", "error.message": "\(error.message)"]
                    )
                }
            }
            if let claimed, !socket.isConnected {  // gone while the store answered: the messages wait for the next auth
                for message in claimed { _ = users.store.enqueue(message.message, for: [attempt.userID], now: message.enqueuedAt) }
                return
            }
            admit(attempt, claimed: claimed, in: clients)
        })
        let closed: @Sendable (Socket, DisconnectReason) -> Void = { socket, _ in
            if let userID = socket[AuthenticatedUser.self] { users.connectionClosed(userID) }
        }
        clients.onDisconnect(synchronously: { closed($0, $1); return true }, handler: closed)
    }

    /// The ack of an accepted `auth` with no queued message (the usual one), encoded once.
    static let acceptedNothingQueued = EncodedAckArguments([["ok": true, "queued": 0]])

    /// An `auth` that named a user and a hash of acceptable lengths and was not throttled.
    struct Attempt {
        let socket: Socket
        let event: SocketIOEvent
        let userID: String
        /// The digest of the hash the client sent, computed once: checked before and after the store answered, and
        /// kept in the socket's storage for connection state recovery.
        let digest: HashDigest
    }

    /// The client's address: behind a trusted proxy, the browser's one from X-Forwarded-For / Forwarded. Only
    /// needed when the throttle tracks failures, or for a refusal (an accepted `auth` does not compute it).
    private func clientAddress(of socket: Socket) -> String {
        trustedProxies().clientAddress(peer: socket.handshake.address?.ipAddress, headers: socket.handshake.headers)
            ?? "unknown"
    }

    /// Acknowledges `{ok: false, error: reason}` and disconnects the socket.
    private func refuse(_ socket: Socket, _ event: SocketIOEvent, _ reason: String) {
        event.ack(["ok": false, "error": .string(reason)])
        socket.disconnect()
    }

    /// Reads the user id and hash of an `auth` and checks the throttle; refuses it and returns `nil` when any of
    /// that fails.
    private func attempt(_ socket: Socket, _ event: SocketIOEvent, in clients: Namespace) -> Attempt? {
        guard let userID = AdminAPI.userID(event.arguments.first),
            let hash = event.arguments.count > 1 ? AdminAPI.userID(event.arguments[1]) : nil
        else {
            refuse(socket, event, "auth needs a userId and a hash")
            return nil
        }
        guard userID.utf8.count <= UserRegistry.maximumUserIDLength, hash.utf8.count <= UserRegistry.maximumHashLength else {
            refuse(socket, event, "userId or hash too long")
            return nil
        }
        // an empty throttle allows everyone: the address is not worked out for nothing
        if throttle.trackedCount > 0 {
            let address = clientAddress(of: socket)
            guard throttle.allows(address, user: userID) else {
                clients.logger.info(
                    "auth throttled",
                    metadata: ["sio.sid": "\(socket.id)", "push.user": "\(userID)", "push.address": "\(address)"]
                )
                metrics?.authThrottled.increment()
                refuse(socket, event, "Too many failed attempts, try again later")
                return nil
            }
        }
        return Attempt(socket: socket, event: event, userID: userID, digest: HashDigest(of: hash))
    }

    /// Refuses an `auth` whose hash does not open its user, and counts the failure.
    private func refuseUnknown(_ attempt: Attempt, in clients: Namespace) {
        let address = clientAddress(of: attempt.socket)
        throttle.recordFailure(address, user: attempt.userID)
        metrics?.authRefused.increment()
        clients.logger.info(
            "auth refused",
            metadata: ["sio.sid": "\(attempt.socket.id)", "push.user": "\(attempt.userID)", "push.address": "\(address)"]
        )
        refuse(attempt.socket, attempt.event, "Unknown user or wrong hash")
    }

    /// Accepts an `auth` whose hash opened its user: under the delivery lock, checks the digest again (the hash may
    /// have rotated meanwhile), acknowledges, sends the queued messages (`claimed`, or the local queue) and joins
    /// the user's room.
    private func admit(_ attempt: Attempt, claimed: [QueuedMessage]?, in clients: Namespace) {
        let (socket, userID, users) = (attempt.socket, attempt.userID, self.users)
        // a recovered socket authenticating again as its user (a tab does on every connect): the other nodes
        // were told to drop its queue at the recovery, nothing is asked of them again (nor raced with that)
        let repeatedAfterRecovery = socket.recovered && socket[AuthenticatedUser.self] == userID
        let queued = delivery.withLock { () -> Int? in
            if let previous = socket[AuthenticatedUser.self] {  // a second auth moves the socket
                socket.leave(PushApp.room(of: previous))
                users.connectionClosed(previous)
            }
            socket[AuthenticatedUser.self] = userID
            socket[AuthenticatedHash.self] = attempt.digest
            guard users.verify(userID, digest: attempt.digest) else {  // the hash rotated since the check
                for message in claimed ?? [] {  // back in the queue, for the new hash's auth
                    _ = users.store.enqueue(message.message, for: [userID], now: message.enqueuedAt)
                }
                return nil
            }
            // Queued messages first, then the room: nothing newer can overtake them.
            let queued = claimed ?? users.store.take(for: userID, now: WallClock.milliseconds())
            if queued.isEmpty {
                attempt.event.ack(Self.acceptedNothingQueued)
            } else {
                attempt.event.ack(["ok": true, "queued": .integer(queued.count)])
                let raw = rawMessages()
                for message in queued { socket.emit("message", [PushApp.payload(jsonText: message.message, raw: raw)]) }
            }
            socket.join(PushApp.room(of: userID), "authenticated")
            users.connectionOpened(userID)
            return queued.count
        }
        guard let queued else {
            socket[AuthenticatedUser.self] = nil
            socket[AuthenticatedHash.self] = nil
            return refuse(socket, attempt.event, "Unknown user or wrong hash")  // the rotation revoked this one
        }
        clients.logger.debug(
            "auth accepted",
            metadata: ["sio.sid": "\(socket.id)", "push.user": "\(userID)", "push.queued": "\(queued)"]
        )
        metrics?.authAccepted.increment()
        if !repeatedAfterRecovery { onAccepted?(userID) }
    }
}
