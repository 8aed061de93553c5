import EngineIO
import NIOCore
import NIOPosix
public import PushinatorJSON

/// Selects the recipients of a broadcast: rooms to include, rooms to leave out (a socket id leaves out that
/// socket), and how to send.
///
/// ```swift
/// chat.to("room-1").except("muted").emit("message", ["hello"])   // everyone in room-1 but the muted
/// socket.broadcast.emit("joined", [.string(socket.id)])           // everyone but the sender
/// ```
///
/// The packet is encoded once by the namespace's adapter; the same bytes are handed to every recipient's outbound
/// queue, grouped by event loop so that each loop is woken once per broadcast.
public struct BroadcastOperator: Sendable {
    let namespace: Namespace
    var target: BroadcastTarget
    var flags = BroadcastFlags()

    init(namespace: Namespace, target: BroadcastTarget = BroadcastTarget()) {
        self.namespace = namespace
        self.target = target
    }

    /// Restricts the broadcast to sockets in `rooms` (added to any rooms already selected).
    public func to(_ rooms: String...) -> BroadcastOperator { to(rooms) }

    /// Restricts the broadcast to sockets in `rooms`.
    public func to(_ rooms: some Sequence<String>) -> BroadcastOperator {
        var copy = self
        copy.target.rooms.formUnion(rooms)
        return copy
    }

    /// Leaves out the sockets in `rooms`.
    public func except(_ rooms: String...) -> BroadcastOperator {
        var copy = self
        copy.target.except.formUnion(rooms)
        return copy
    }

    /// The events may be lost: they are not buffered for connection state recovery (as socket.io's `volatile`).
    public var volatile: BroadcastOperator {
        var copy = self
        copy.flags.volatile = true
        return copy
    }

    /// Only this process's sockets, when the adapter spans a cluster.
    public var local: BroadcastOperator {
        var copy = self
        copy.flags.local = true
        return copy
    }

    /// This process's sockets the broadcast would reach now.
    public var sockets: [Socket] { namespace.adapter.sockets(in: target.rooms, except: target.except) }

    /// Sends `event` with `arguments` to every selected socket.
    /// - Returns: The number of sockets of this process it was handed to.
    @discardableResult
    public func emit(_ event: String, _ arguments: [JSONValue]) -> Int {
        namespace.adapter.broadcast(.event(event, arguments, namespace: namespace.name), to: target, flags: flags)
    }

    /// Sends `event` with `arguments` to every selected socket.
    @discardableResult
    public func emit(_ event: String, _ arguments: JSONValue...) -> Int { emit(event, arguments) }

    /// Sends `event` with one `Encodable` argument to every selected socket.
    @discardableResult
    public func emit(_ event: String, encoding value: some Encodable) throws -> Int {
        emit(event, [try JSONValue(encoding: value)])
    }

    /// Sends `event` with `arguments` to every selected socket, on every server, and waits until each server said
    /// how many of its sockets got it (at most the cluster's request timeout; at once on a single server).
    public func emitCounting(_ event: String, _ arguments: [JSONValue]) async -> BroadcastCount {
        await namespace.adapter.broadcastCounting(.event(event, arguments, namespace: namespace.name), to: target, flags: flags)
    }

    /// Sends `event` to every selected socket, asking each for an acknowledgement, and waits for the answers.
    ///
    /// The packet is encoded once; events with an acknowledgement are not buffered for connection state recovery.
    /// - Parameters:
    ///   - event: The event name.
    ///   - arguments: The arguments.
    ///   - timeout: How long to wait; the server's ``SocketIOConfiguration/ackTimeout`` by default.
    /// - Returns: How many sockets it was sent to and the answers that arrived in time.
    public func emitWithAck(_ event: String, _ arguments: [JSONValue], timeout: Duration? = nil) async -> BroadcastAcks {
        let packet = SocketIOPacket.event(event, arguments, namespace: namespace.name, ackID: namespace.nextAckID())
        return await namespace.adapter.broadcastWithAck(
            packet,
            to: target,
            flags: flags,
            timeout: timeout ?? namespace.ackTimeout
        )
    }

    /// The selected sockets, on every server of a cluster.
    public func fetchSockets() async -> [RemoteSocket] { await namespace.adapter.fetchSockets(target) }

    /// Puts the selected sockets in `rooms`.
    public func socketsJoin(_ rooms: String...) async { await namespace.adapter.addSockets(target, rooms: rooms) }

    /// Takes the selected sockets out of `rooms`.
    public func socketsLeave(_ rooms: String...) async { await namespace.adapter.removeSockets(target, rooms: rooms) }

    /// Disconnects every selected socket of this process from the namespace.
    /// - Parameter close: Also close their connections.
    public func disconnectSockets(close: Bool = false) {
        for socket in sockets { socket.disconnect(close: close) }
    }

    /// Disconnects every selected socket from the namespace, on every server of a cluster.
    /// - Parameter close: Also close their connections.
    public func disconnectSockets(close: Bool = false) async {
        await namespace.adapter.disconnectSockets(target, close: close)
    }
}

/// Encoding Socket.IO packets into Engine.IO packets, and handing them to sessions.
enum SocketIOWire {
    /// The Engine.IO packets of `packet`: its text form behind the `4` digit, then its binary attachments.
    static func encode(_ packet: SocketIOPacket) -> [EngineIOEncodedPacket] {
        encodeMeasuring(packet).packets
    }

    /// ``encode(_:)``, with the number of bytes the packets take.
    static func encodeMeasuring(_ packet: SocketIOPacket) -> (packets: [EngineIOEncodedPacket], byteCount: Int) {
        var attachments: [ByteBuffer] = []
        var byteCount = 0
        let text = EngineIOEncodedPacket.message(capacity: 64) { buffer in
            attachments = packet.encode(into: &buffer)
            byteCount = buffer.readableBytes
        }
        guard !attachments.isEmpty else { return ([text], byteCount) }
        for attachment in attachments { byteCount += attachment.readableBytes }
        return ([text] + attachments.map { EngineIOEncodedPacket.binary($0) }, byteCount)
    }

    /// Sends the ACK of `id` with `answer` to `engine`: arguments encoded once are written as they are, behind
    /// `43[/nsp,]<id>` (the same bytes as ``encode(_:)`` of the ACK packet: a test compares them), anything else
    /// through the packet encoder.
    static func sendAck(_ id: Int, _ answer: SocketIOEvent.Answer, namespace: String, to engine: EngineIOSession) {
        guard case .encoded(let encoded) = answer, let text = encoded.text else {
            engine.send(encode(.ack(id, answer.arguments, namespace: namespace)))
            return
        }
        engine.send(ackPacket(id, encodedArguments: text, namespace: namespace))
    }

    /// The ACK of `id` whose arguments are the JSON array `text`, as an Engine.IO message.
    static func ackPacket(_ id: Int, encodedArguments text: ByteBuffer, namespace: String) -> EngineIOEncodedPacket {
        .message(capacity: 24 + namespace.utf8.count + text.readableBytes) { buffer in
            buffer.writeInteger(SocketIOPacketType.ack.digit)
            if !namespace.isEmpty && namespace != "/" {
                buffer.writeString(namespace)
                buffer.writeInteger(UInt8(ascii: ","))
            }
            JSONValue.integer(id).write(to: &buffer)
            buffer.writeImmutableBuffer(text)
        }
    }

    /// The CONNECT answer, `40{"sid":"..."}` or `40/nsp,{"sid":"...","pid":"..."}`, as an Engine.IO message: the
    /// same bytes as ``encode(_:)`` of the CONNECT packet with that data (a test compares them), written straight
    /// into one buffer instead of through a `JSONValue` object and the generic packet encoder, once per connect.
    static func connectAnswer(namespace: String, sid: String, pid: String?) -> EngineIOEncodedPacket {
        .message(capacity: 24 + namespace.utf8.count + sid.utf8.count + (pid?.utf8.count ?? 0)) { buffer in
            writeConnectAnswer(namespace: namespace, sid: sid, pid: pid, to: &buffer)
        }
    }

    /// The text of ``connectAnswer(namespace:sid:pid:)``, from its Engine.IO `4` digit on.
    static func connectAnswerText(namespace: String, sid: String, pid: String?) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(ascii: "4"))
        writeConnectAnswer(namespace: namespace, sid: sid, pid: pid, to: &buffer)
        return buffer
    }

    /// The CONNECT packet of the answer (`0...`), after the Engine.IO `4`.
    private static func writeConnectAnswer(namespace: String, sid: String, pid: String?, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "0"))  // Socket.IO CONNECT
        if !namespace.isEmpty && namespace != "/" {
            buffer.writeString(namespace)
            buffer.writeInteger(UInt8(ascii: ","))
        }
        buffer.writeStaticString(#"{"sid":"#)
        writeIdentifier(sid, to: &buffer)
        if let pid {
            buffer.writeStaticString(#","pid":"#)
            writeIdentifier(pid, to: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// Writes `id` as a JSON string: the server's ids (URL-safe base64) need no escaping and are copied as they
    /// are; anything else goes through the JSON writer (the same bytes either way).
    private static func writeIdentifier(_ id: String, to buffer: inout ByteBuffer) {
        let plain = id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default: false
            }
        }
        guard plain else { return JSONValue.string(id).write(to: &buffer) }
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeString(id)
        buffer.writeInteger(UInt8(ascii: "\""))
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
