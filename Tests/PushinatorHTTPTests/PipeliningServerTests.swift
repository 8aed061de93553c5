import HTTPTypes
import NIOCore
import PushinatorHTTP
import PushinatorTestSupport
import Testing

/// Pipelined requests over a real socket: dispatched while earlier answers are pending, answered in order.
@Suite("HTTP pipelining over sockets")
struct PipeliningServerTests {
    /// Holds the handlers of `count` requests until all of them run at once (the overlap), then lets them finish
    /// in reverse order, the last request first.
    actor ReverseGate {
        let count: Int
        private var arrived = 0
        private var arrivalWaiters: [CheckedContinuation<Void, Never>] = []
        private var finishWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        private(set) var finished: [Int] = []
        /// The most handlers running at the same time.
        private(set) var maxRunning = 0

        init(count: Int) { self.count = count }

        /// Request `index` arrived: waits until every request has.
        func arrive() async {
            arrived += 1
            maxRunning = max(maxRunning, arrived - finished.count)
            if arrived == count {
                arrivalWaiters.forEach { $0.resume() }
                arrivalWaiters.removeAll()
                return
            }
            await withCheckedContinuation { arrivalWaiters.append($0) }
        }

        /// Waits until the request after `index` has finished (the last one finishes first).
        func waitForTurn(_ index: Int) async {
            guard index < count - 1, !finished.contains(index + 1) else { return }
            await withCheckedContinuation { finishWaiters[index] = $0 }
        }

        func finish(_ index: Int) {
            finished.append(index)
            finishWaiters.removeValue(forKey: index - 1)?.resume()
        }
    }

    static func router(_ gate: ReverseGate) -> Router {
        Router {
            Get("gate/:index") { _, context in
                let index = try context.parameters.require("index", as: Int.self)
                await gate.arrive()
                await gate.waitForTurn(index)
                await gate.finish(index)
                return "answer \(index)"
            }
            Get("hello") { _, _ in "Hello!" }
        }
    }

    @Test func pipelinedRequestsRunTogetherAndAreAnsweredInOrder() async throws {
        let gate = ReverseGate(count: 8)
        try await TestServer.with(Self.router(gate)) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port, timeout: 20)
            // One write: the eight requests reach the server in one or a few reads, behind each other.
            try await client.send((0..<8).map { "GET /gate/\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
            for index in 0..<8 {
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "answer \(index)")
            }
            // Every handler was waiting for the others before any finished: they overlapped; and they finished
            // last first, so every answer but the last was held until its turn.
            #expect(await gate.maxRunning == 8)
            #expect(await gate.finished == Array((0..<8).reversed()))
            // The connection goes on as usual.
            try await client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "Hello!")
            await client.close()
        }
    }

    @Test func pipelinedRequestsPastTheLimitAreServedInTheirTurn() async throws {
        let gate = ReverseGate(count: 3)
        let configuration = HTTPServerConfiguration(maxPipelinedRequests: 3)
        try await TestServer.with(Self.router(gate), configuration: configuration) { (server: TestServer) async throws in
            let client = try await RawClient.connect(port: server.port, timeout: 20)
            // Three overlap (the gate opens only when all three run); the synchronous fourth waits for room.
            try await client.send(
                (0..<3).map { "GET /gate/\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
                    + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            for index in 0..<3 {
                #expect(try await client.readResponse().text == "answer \(index)")
            }
            #expect(try await client.readResponse().text == "Hello!")
            #expect(await gate.finished == [2, 1, 0])
            await client.close()
        }
    }
}
