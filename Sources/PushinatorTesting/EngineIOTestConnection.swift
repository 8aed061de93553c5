import EngineIO
import Foundation
import HTTPTypes
import NIOCore
import PushinatorJSON
import Synchronization

/// The Engine.IO v4 client side of one session, for ``SocketIOTestClient``: handshake over polling or WebSocket,
/// the upgrade (`2probe`, `3probe`, pause polling, `5`), heartbeat answers and the message packets both ways.
final class EngineIOTestConnection: Sendable {
    /// Where the server is and how to reach it.
    struct Endpoint: Sendable {
        /// Sends the polling requests (in process or over a socket).
        var http: any TestClient
        /// The live server's address, for WebSocket transports.
        var host: String?
        var port: Int?
        /// The Engine.IO path, with its trailing slash (`/socket.io/`).
        var path: String
        /// Extra query items for every request (after `EIO` and `transport`).
        var query: [(name: String, value: String)]
        /// Extra header fields for every request.
        var headers: HTTPFields
        /// The largest message accepted over WebSocket.
        var maxMessageSize: Int
    }

    /// Packets waiting for a polling POST, and who waits for it.
    private struct Outgoing {
        var packets: [EngineIOPacket]
        var done: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var sid: String?
        var webSocket: WebSocketTestConnection?
        var stopPolling = false
        var closedReason: String?
        var outbox: [Outgoing] = []
        var posting = false
    }

    private struct Callbacks: Sendable {
        var onMessage: @Sendable (EngineIOPacket) -> Void
        var onClose: @Sendable (String) -> Void
    }

    let endpoint: Endpoint
    private let callbacks = Mutex<Callbacks?>(nil)
    private let state = Mutex(State())
    /// The open packet and the probe's answer, awaited while connecting.
    private let handshake = TestInbox<EngineIOPacket>(limit: 64)
    /// Gets one element when the polling loop has ended.
    private let pollingEnded = TestInbox<Void>(limit: 1)
    private let codec = EngineIOPollingCodec(version: .v4, configuration: .init(maxPackets: 100_000, maxPayloadBytes: .max))

    /// Creates a connection; ``open(transport:timeout:onMessage:onClose:)`` starts it.
    /// - Parameter endpoint: the server.
    init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    /// The session id the server gave.
    var sid: String? { state.withLock { $0.sid } }

    /// Whether the session runs over WebSocket now.
    var isWebSocket: Bool { state.withLock { $0.webSocket != nil } }

    // MARK: Opening

    /// Performs the handshake (and the upgrade, for ``SocketIOTestTransport/pollingThenWebSocket``).
    /// - Parameters:
    ///   - transport: how to connect.
    ///   - timeout: how long each step may take.
    ///   - onMessage: called with each message packet, in order.
    ///   - onClose: called once with the reason when the session ends.
    func open(
        transport: SocketIOTestTransport,
        timeout: Duration,
        onMessage: @escaping @Sendable (EngineIOPacket) -> Void,
        onClose: @escaping @Sendable (String) -> Void
    ) async throws {
        callbacks.withLock { $0 = Callbacks(onMessage: onMessage, onClose: onClose) }
        switch transport.kind {
        case .webSocket:
            let webSocket = try await connectWebSocket(sid: nil)
            state.withLock { $0.webSocket = webSocket }
            try await receiveOpen(timeout: timeout)
        case .polling, .pollingThenWebSocket:
            let response = try await endpoint.http.execute(.get, target(transport: "polling", sid: nil), headers: endpoint.headers)
            guard response.status == .ok else { throw SocketIOTestError.httpStatus(response.status.code, response.text) }
            try receive(pollingBody: response.body)
            try await receiveOpen(timeout: timeout)
            Task { await pollLoop() }
            if transport.kind == .pollingThenWebSocket { try await upgrade(timeout: timeout) }
        }
    }

    private func receiveOpen(timeout: Duration) async throws {
        let open = try await handshake.next(timeout: timeout, "the Engine.IO open packet")
        guard open.type == .open, let text = open.text, let sid = try? JSONValue(parsing: text).object?["sid"]?.string else {
            throw SocketIOTestError.protocolViolation("expected an open packet with a sid, got \(open)")
        }
        state.withLock { $0.sid = sid }
    }

    private func upgrade(timeout: Duration) async throws {
        let webSocket = try await connectWebSocket(sid: sid)
        try await webSocket.send(text: ByteBuffer(string: "2probe"))
        let answer = try await handshake.next(timeout: timeout, "3probe")
        guard answer.type == .pong, answer.text == "probe" else {
            throw SocketIOTestError.protocolViolation("expected 3probe, got \(answer)")
        }
        state.withLock { $0.stopPolling = true }
        // The server ends the GET it holds with a noop; polling stops there.
        try await pollingEnded.next(timeout: timeout, "the last poll to end")
        try await webSocket.send(text: ByteBuffer(string: "5"))
        state.withLock { $0.webSocket = webSocket }
    }

    private func connectWebSocket(sid: String?) async throws -> WebSocketTestConnection {
        guard let host = endpoint.host, let port = endpoint.port else {
            throw SocketIOTestError.unsupportedTransport("WebSocket needs a live server: use router.test(.live()) or a port")
        }
        return try await WebSocketTestConnection.connect(
            host: host,
            port: port,
            target: target(transport: "websocket", sid: sid),
            headers: endpoint.headers,
            maxMessageSize: endpoint.maxMessageSize,
            onMessage: { [weak self] message in self?.receive(webSocket: message) },
            onClose: { [weak self] in self?.transportClosed(webSocket: sid == nil || self?.isWebSocket == true) }
        )
    }

    private func target(transport: String, sid: String?) -> String {
        var target = endpoint.path + "?EIO=4&transport=\(transport)"
        if let sid { target += "&sid=\(sid)" }
        for item in endpoint.query { target += "&\(Self.escape(item.name))=\(Self.escape(item.value))" }
        return target
    }

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    // MARK: Receiving

    private func receive(webSocket message: WebSocketTestConnection.Message) {
        do {
            switch message {
            case .text(let text): receive(try EngineIOPacket(webSocketText: text))
            case .binary(let bytes): receive(try EngineIOPacket(webSocketBinary: bytes))
            }
        } catch {
            close(reason: "parse error")
        }
    }

    private func receive(pollingBody body: ByteBuffer) throws {
        let packets: [EngineIOPacket]
        do {
            packets = try codec.decode(body)
        } catch {
            throw SocketIOTestError.protocolViolation("polling payload: \(error)")
        }
        for packet in packets { receive(packet) }
    }

    private func receive(_ packet: EngineIOPacket) {
        switch packet.type {
        case .open:
            handshake.push(packet)
        case .pong where packet.text == "probe":
            handshake.push(packet)
        case .ping:
            sendWithoutWaiting([EngineIOPacket(type: .pong, payload: packet.payload)])
        case .message:
            callbacks.withLock { $0 }?.onMessage(packet)
        case .close:
            close(reason: "transport close")
        case .pong, .upgrade, .noop:
            break
        }
    }

    private func pollLoop() async {
        defer { pollingEnded.push(()) }
        while true {
            let (sid, stop) = state.withLock { ($0.sid, $0.stopPolling || $0.closedReason != nil) }
            guard !stop, let sid else { return }
            do {
                let response = try await endpoint.http.execute(.get, target(transport: "polling", sid: sid), headers: endpoint.headers)
                guard response.status == .ok else {
                    if state.withLock({ !$0.stopPolling }) { close(reason: "transport error") }
                    return
                }
                try receive(pollingBody: response.body)
            } catch {
                close(reason: "transport error")
                return
            }
        }
    }

    private func transportClosed(webSocket isCurrent: Bool) {
        if isCurrent { close(reason: "transport close") }
    }

    // MARK: Sending

    /// Sends packets in order: over the WebSocket, or in one polling POST (POSTs never overlap).
    func send(_ packets: [EngineIOPacket]) async throws {
        if let reason = state.withLock({ $0.closedReason }) { throw SocketIOTestError.disconnected(reason: reason) }
        if let webSocket = state.withLock({ $0.webSocket }) {
            try await webSocket.send(packets.map { packet in
                var frame = ByteBuffer()
                packet.writeWebSocketFrame(to: &frame)
                return packet.isBinary ? .binary(frame) : .text(frame)
            })
            return
        }
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let startPosting = state.withLock { state in
                state.outbox.append(Outgoing(packets: packets, done: done))
                defer { state.posting = true }
                return !state.posting
            }
            if startPosting { Task { await postOutbox() } }
        }
    }

    private func sendWithoutWaiting(_ packets: [EngineIOPacket]) {
        Task { try? await send(packets) }
    }

    private func postOutbox() async {
        while true {
            let (batch, sid) = state.withLock { state in
                let batch = state.outbox
                state.outbox.removeAll()
                if batch.isEmpty { state.posting = false }
                return (batch, state.sid)
            }
            guard !batch.isEmpty else { return }
            do {
                var body = ByteBuffer()
                codec.encode(batch.flatMap(\.packets), into: &body)
                var headers = endpoint.headers
                headers[.contentType] = "text/plain; charset=UTF-8"
                let response = try await endpoint.http.execute(
                    .post,
                    target(transport: "polling", sid: sid),
                    headers: headers,
                    body: body
                )
                guard response.status == .ok else { throw SocketIOTestError.httpStatus(response.status.code, response.text) }
                for entry in batch { entry.done.resume() }
            } catch {
                for entry in batch { entry.done.resume(throwing: error) }
            }
        }
    }

    // MARK: Closing

    /// Ends the session from the client's side: a close packet over polling, a close frame over WebSocket.
    func close() async {
        let (webSocket, open) = state.withLock { ($0.webSocket, $0.closedReason == nil) }
        if open, webSocket == nil { try? await send([EngineIOPacket(type: .close)]) }
        close(reason: "io client disconnect", closingTransport: false)
        await webSocket?.close()
    }

    /// Marks the session closed (the first reason counts) and tells the owner.
    private func close(reason: String, closingTransport: Bool = true) {
        let (first, outbox, webSocket) = state.withLock { state -> (Bool, [Outgoing], WebSocketTestConnection?) in
            guard state.closedReason == nil else { return (false, [], nil) }
            state.closedReason = reason
            defer { state.outbox.removeAll() }
            return (true, state.outbox, state.webSocket)
        }
        guard first else { return }
        if closingTransport { webSocket?.channel.close(promise: nil) }
        for entry in outbox { entry.done.resume(throwing: SocketIOTestError.disconnected(reason: reason)) }
        handshake.finish(throwing: SocketIOTestError.disconnected(reason: reason))
        callbacks.withLock { $0 }?.onClose(reason)
    }
}
