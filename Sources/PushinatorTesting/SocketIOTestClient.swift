public import PushinatorJSON
import HTTPTypes

/// A Socket.IO client over Engine.IO long-polling, for module tests: it talks to a router through a
/// ``TestClient`` (in process or live), so a test can connect to several servers without sockets.
///
/// ```swift
/// try await router.test { http in
///     let client = try await SocketIOTestClient.connect(http)
///     let events = try await client.receiveEvents(1)   // [["news", "hello"]]
/// }
/// ```
///
/// Each ``receiveEvents(_:)`` call long-polls until that many events arrived, answering the server's pings; a
/// poll with nothing to deliver waits until the server's ping, so ask only for events that are coming.
public final class SocketIOTestClient: Sendable {
    /// The Engine.IO session id.
    public let engineSessionID: String
    /// The Socket.IO socket id the server gave the main namespace.
    public let socketID: String
    private let http: any TestClient
    private let path: String

    private init(http: any TestClient, path: String, engineSessionID: String, socketID: String) {
        self.http = http
        self.path = path
        self.engineSessionID = engineSessionID
        self.socketID = socketID
    }

    /// Opens an Engine.IO session over polling and connects to the main namespace.
    /// - Parameters:
    ///   - http: The client of the router that serves Socket.IO.
    ///   - path: Where Socket.IO is mounted.
    ///   - auth: The CONNECT payload.
    /// - Returns: The connected client.
    public static func connect(_ http: any TestClient, path: String = "/socket.io/", auth: JSONValue? = nil) async throws -> SocketIOTestClient {
        let open = try await http.execute(.get, "\(path)?EIO=4&transport=polling")
        guard open.text.hasPrefix("0"), let sid = try JSONValue(parsing: String(open.text.dropFirst()))["sid"]?.string else {
            throw SocketIOTestClientError("no Engine.IO handshake: \(open.status) \(open.text)")
        }
        let connect = "40" + (auth.map(\.jsonString) ?? "")
        let posted = try await http.execute(.post, "\(path)?EIO=4&transport=polling&sid=\(sid)", body: connect)
        guard posted.status == .ok else { throw SocketIOTestClientError("CONNECT refused: \(posted.status) \(posted.text)") }
        var pending: [String] = []
        for _ in 0..<10 where !pending.contains(where: { $0.hasPrefix("40") }) {
            pending += try await poll(http, path: path, sid: sid)
        }
        guard let answer = pending.first(where: { $0.hasPrefix("40") }),
            let socketID = try JSONValue(parsing: String(answer.dropFirst(2)))["sid"]?.string
        else {
            throw SocketIOTestClientError("no CONNECT answer: \(pending)")
        }
        return SocketIOTestClient(http: http, path: path, engineSessionID: sid, socketID: socketID)
    }

    private static func poll(_ http: any TestClient, path: String, sid: String) async throws -> [String] {
        let response = try await http.execute(.get, "\(path)?EIO=4&transport=polling&sid=\(sid)")
        guard response.status == .ok else { throw SocketIOTestClientError("poll refused: \(response.status) \(response.text)") }
        return response.text.split(separator: "\u{1e}", omittingEmptySubsequences: true).map(String.init)
    }

    /// Sends Engine.IO packets (such as `"42[\"hello\"]"` or `"43\(id)[\"ok\"]"`) in one POST.
    public func send(_ packets: [String]) async throws {
        let response = try await http.execute(
            .post,
            "\(path)?EIO=4&transport=polling&sid=\(engineSessionID)",
            body: packets.joined(separator: "\u{1e}")
        )
        guard response.status == .ok else { throw SocketIOTestClientError("POST refused: \(response.status) \(response.text)") }
    }

    /// Long-polls until `count` Socket.IO packets other than pings arrived (at most 20 polls).
    /// - Returns: The packets' text without the Engine.IO `4` prefix (`2["news","hello"]`, `1` for a DISCONNECT).
    public func receivePackets(_ count: Int) async throws -> [String] {
        var packets: [String] = []
        for _ in 0..<20 where packets.count < count {
            for packet in try await Self.poll(http, path: path, sid: engineSessionID) {
                if packet == "2" {
                    try await send(["3"])
                } else if packet.hasPrefix("4") {
                    packets.append(String(packet.dropFirst()))
                } else if packet.hasPrefix("1") {
                    packets.append("close")
                    return packets
                }
            }
        }
        guard packets.count >= count else { throw SocketIOTestClientError("\(packets.count) of \(count) packets arrived: \(packets)") }
        return packets
    }

    /// Long-polls until `count` events arrived.
    /// - Returns: Each event's data (`["news", "hello"]`), and its ack id when the server expects an answer.
    public func receiveEvents(_ count: Int) async throws -> [(data: [JSONValue], ackID: Int?)] {
        try await receivePackets(count).map { packet in
            guard packet.hasPrefix("2") else { throw SocketIOTestClientError("not an event: \(packet)") }
            let body = packet.dropFirst().drop { $0 != "[" && !$0.isNumber }
            let digits = body.prefix { $0.isNumber }
            let data = try JSONValue(parsing: String(body.dropFirst(digits.count)))
            return (data.array ?? [], Int(digits))
        }
    }
}

/// What went wrong in a ``SocketIOTestClient`` exchange.
public struct SocketIOTestClientError: Error, CustomStringConvertible, Sendable {
    /// What happened.
    public let description: String
    init(_ description: String) { self.description = description }
}
