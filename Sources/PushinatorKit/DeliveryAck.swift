import HTTPTypes
import PushinatorHTTP
import PushinatorJSON
import PushinatorSocketIO
import Synchronization

/// The `"ack": {"timeout": 5000}` option of `/user/send`: emit `message` with an ack id and count the clients
/// that call back within the timeout.
///
/// Bounded: one request waits for at most ``maxPerRequest`` connections and all requests together for at most
/// ``AckBudget/maxPending``; connections over either bound get the message without an ack id (counted in
/// `delivered`, never in `acked`). A client that never answers costs nothing after the timeout.
struct DeliveryAck: Sendable {
    /// The longest timeout a request may ask for, in milliseconds.
    static let maxTimeoutMilliseconds = 60_000
    /// The most connections one request waits for.
    static let maxPerRequest = 10_000

    /// How long the answer waits at most.
    let timeout: Duration

    /// Reads the `ack` field: absent or `null` means no acks; anything but `{"timeout": 1...60000}` is a 400.
    init?(_ value: JSONValue?) throws(HTTPError) {
        guard let value, value != .null else { return nil }
        let usage = "ack must be {\"timeout\": milliseconds from 1 to \(Self.maxTimeoutMilliseconds)}"
        guard case .object(let object) = value, object.count == 1, let timeout = object["timeout"] else {
            throw HTTPError(.badRequest, message: usage, details: ["ack": value])
        }
        let milliseconds: Int
        switch timeout {
        case .integer(let number): milliseconds = number
        case .double(let number) where number.rounded() == number && abs(number) < 1e9: milliseconds = Int(number)
        default: throw HTTPError(.badRequest, message: usage, details: ["ack": value])
        }
        guard (1...Self.maxTimeoutMilliseconds).contains(milliseconds) else {
            throw HTTPError(.badRequest, message: usage, details: ["ack": value])
        }
        self.timeout = .milliseconds(milliseconds)
    }

    /// Sends `message` with `argument` to `sockets` and returns how many called back within the timeout.
    func collect(_ argument: JSONValue, from sockets: [Socket], budget: AckBudget) async -> Int {
        let granted = budget.reserve(min(sockets.count, Self.maxPerRequest))
        defer { budget.release(granted) }
        for socket in sockets.dropFirst(granted) { socket.emit("message", [argument]) }
        return await withTaskGroup(of: Bool.self) { group in
            for socket in sockets.prefix(granted) {
                group.addTask {
                    (try? await socket.emitWithAck("message", [argument], timeout: timeout)) != nil
                }
            }
            var acked = 0
            for await answered in group where answered { acked += 1 }
            return acked
        }
    }
}
