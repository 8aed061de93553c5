import EngineIO
import NIOCore
import NIOPosix
public import PushinatorJSON

/// Selects the recipients of a broadcast: rooms to include, rooms to leave out, and maybe the sender.
///
/// ```swift
/// chat.to("room-1").except("muted").emit("message", ["hello"])   // everyone in room-1 but the muted
/// socket.broadcast.emit("joined", [.string(socket.id)])           // everyone but the sender
/// ```
///
/// The packet is encoded once; the same bytes are handed to every recipient's outbound queue, grouped by event
/// loop so that each loop is woken once per broadcast.
public struct BroadcastOperator: Sendable {
    let namespace: Namespace
    var rooms: Set<String> = []
    var exceptRooms: Set<String> = []
    var excludedSocketID: String?

    /// Restricts the broadcast to sockets in `rooms` (added to any rooms already selected).
    public func to(_ rooms: String...) -> BroadcastOperator { to(rooms) }

    /// Restricts the broadcast to sockets in `rooms`.
    public func to(_ rooms: some Sequence<String>) -> BroadcastOperator {
        var copy = self
        copy.rooms.formUnion(rooms)
        return copy
    }

    /// Leaves out the sockets in `rooms`.
    public func except(_ rooms: String...) -> BroadcastOperator {
        var copy = self
        copy.exceptRooms.formUnion(rooms)
        return copy
    }

    /// The sockets the broadcast would reach now.
    public var sockets: [Socket] {
        let selected = namespace.adapter.sockets(in: rooms, except: exceptRooms)
        guard let excludedSocketID else { return selected }
        return selected.filter { $0.id != excludedSocketID }
    }

    /// Sends `event` with `arguments` to every selected socket.
    /// - Returns: The number of sockets it was handed to.
    @discardableResult
    public func emit(_ event: String, _ arguments: [JSONValue]) -> Int {
        let recipients = sessions
        guard !recipients.isEmpty else { return 0 }  // a user with no connection: nothing to encode
        let packets = SocketIOWire.encode(.event(event, arguments, namespace: namespace.name))
        SocketIOWire.deliver(packets, to: recipients)
        return recipients.count
    }

    /// The Engine.IO sessions of the selected sockets; from the in-memory adapter's own lists when it can.
    private var sessions: [EngineIOSession] {
        if excludedSocketID == nil, let adapter = namespace.inMemoryAdapter {
            return adapter.sessions(in: rooms, except: exceptRooms)
        }
        return sockets.map(\.session)
    }

    /// Sends `event` with `arguments` to every selected socket.
    @discardableResult
    public func emit(_ event: String, _ arguments: JSONValue...) -> Int { emit(event, arguments) }

    /// Sends `event` with one `Encodable` argument to every selected socket.
    @discardableResult
    public func emit(_ event: String, encoding value: some Encodable) throws -> Int {
        emit(event, [try JSONValue(encoding: value)])
    }

    /// Disconnects every selected socket from the namespace.
    public func disconnectSockets() {
        for socket in sockets { socket.disconnect() }
    }
}

/// Encoding Socket.IO packets into Engine.IO packets, and handing them to sessions.
enum SocketIOWire {
    /// The Engine.IO packets of `packet`: its text form behind the `4` digit, then its binary attachments.
    static func encode(_ packet: SocketIOPacket) -> [EngineIOEncodedPacket] {
        var attachments: [ByteBuffer] = []
        let text = EngineIOEncodedPacket.message(capacity: 64) { buffer in
            attachments = packet.encode(into: &buffer)
        }
        guard !attachments.isEmpty else { return [text] }
        return [text] + attachments.map { EngineIOEncodedPacket.binary($0) }
    }

    /// Sends `packets` to every session, waking each other event loop once.
    ///
    /// Sessions on the calling thread's loop are written to at once; the others are collected per loop (a handful:
    /// a linear search beats hashing per recipient) and handed over in one task each.
    static func deliver(_ packets: [EngineIOEncodedPacket], to sessions: [EngineIOSession]) {
        if sessions.count == 1 {
            sessions[0].send(packets)
            return
        }
        let here = MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) }
        var elsewhere: [(loop: ObjectIdentifier, sessions: [EngineIOSession])] = []
        for session in sessions {
            let loop = session.eventLoopID
            if loop == here {
                session.sendOnLoop(packets)
            } else if let index = elsewhere.firstIndex(where: { $0.loop == loop }) {
                elsewhere[index].sessions.append(session)
            } else {
                var group: [EngineIOSession] = []
                group.reserveCapacity(sessions.count)
                group.append(session)
                elsewhere.append((loop, group))
            }
        }
        for group in elsewhere {
            let sessions = group.sessions
            sessions[0].eventLoop.execute {
                for session in sessions { session.sendOnLoop(packets) }
            }
        }
    }
}
