import EngineIO
import NIOCore
import PushinatorJSON
import Synchronization

/// Collects the acknowledgements of one event sent to many sockets, until every socket answered (or left) or the
/// timeout; then the sockets forget the ack id, so a client that never answers costs nothing afterwards.
final class AckCollector: Sendable {
    private struct State {
        var remaining: Int
        var responses: [[JSONValue]] = []
        var continuation: CheckedContinuation<BroadcastAcks, Never>?
    }

    private let expected: Int
    private let state: Mutex<State>

    private init(expected: Int, continuation: CheckedContinuation<BroadcastAcks, Never>) {
        self.expected = expected
        self.state = Mutex(State(remaining: expected, continuation: continuation))
    }

    /// Sends `packet` (an event with an ack id) to `sockets`, encoded once, and waits for their answers.
    static func collect(_ packet: SocketIOPacket, from sockets: [Socket], timeout: Duration) async -> BroadcastAcks {
        guard let id = packet.ackID, let first = sockets.first else {
            return BroadcastAcks(expected: 0, responses: [])
        }
        let encoded = SocketIOWire.encode(packet)
        return await withCheckedContinuation { continuation in
            let collector = AckCollector(expected: sockets.count, continuation: continuation)
            for socket in sockets {
                socket.expectAck(id) { result in collector.received(try? result.get()) }
            }
            SocketIOWire.deliver(encoded, to: sockets.map(\.session))
            first.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                collector.finish()
                for socket in sockets { socket.forgetAck(id) }
            }
        }
    }

    private func received(_ arguments: [JSONValue]?) {
        let done = state.withLock { state -> (CheckedContinuation<BroadcastAcks, Never>, BroadcastAcks)? in
            state.remaining -= 1
            if let arguments { state.responses.append(arguments) }
            guard state.remaining <= 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, BroadcastAcks(expected: expected, responses: state.responses))
        }
        if let (continuation, result) = done { continuation.resume(returning: result) }
    }

    private func finish() {
        let done = state.withLock { state -> (CheckedContinuation<BroadcastAcks, Never>, BroadcastAcks)? in
            guard let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, BroadcastAcks(expected: expected, responses: state.responses))
        }
        if let (continuation, result) = done { continuation.resume(returning: result) }
    }
}
