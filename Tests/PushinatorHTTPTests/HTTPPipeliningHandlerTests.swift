import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import PushinatorHTTP

/// Pipelined requests through the connection handler on an `EmbeddedChannel`: async routes held by the test,
/// released in any order; the answers leave in request order.
@Suite("HTTP connection handler: pipelining")
struct HTTPPipeliningHandlerTests {
    /// The handlers of `GET /wait/:n`, each waiting until the test releases it.
    final class Gates: Sendable {
        private let waiting = NIOLockedValueBox<[Int: CheckedContinuation<Void, Never>]>([:])

        func wait(_ index: Int) async {
            await withCheckedContinuation { continuation in waiting.withLockedValue { $0[index] = continuation } }
        }

        var held: [Int] { waiting.withLockedValue { $0.keys.sorted() } }

        /// Lets handler `index` finish; `false` when it is not waiting.
        @discardableResult
        func release(_ index: Int) -> Bool {
            guard let continuation = waiting.withLockedValue({ $0.removeValue(forKey: index) }) else { return false }
            continuation.resume()
            return true
        }
    }

    static func make(
        _ gates: Gates,
        _ configuration: HTTPServerConfiguration = .init()
    ) throws -> (channel: EmbeddedChannel, reads: ReadCounter) {
        let router = Router {
            Get("wait/:index") { _, context in
                let index = try context.parameters.require("index", as: Int.self)
                await gates.wait(index)
                return "answer \(index)"
            }
            Get("x") { _, _ in "hello" }
            Get("ws") { _, _ in Response.webSocket { _ in } }
        }
        return try HTTPConnectionHandlerTests.make(configuration, responder: router)
    }

    static func wait(_ index: Int) -> String { "GET /wait/\(index) HTTP/1.1\r\nHost: x\r\n\r\n" }

    /// Releases handler `index` and runs what its answer sets off on the loop.
    static func release(_ index: Int, _ gates: Gates, _ channel: EmbeddedChannel) {
        #expect(gates.release(index), "handler \(index) was not waiting")
        channel.embeddedEventLoop.run()
    }

    static func bodies(_ text: String) -> [String] {
        text.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.components(separatedBy: "HTTP/1.1").first ?? "" }
    }

    @Test func answersFinishedOutOfOrderLeaveInRequestOrder() throws {
        let gates = Gates()
        let (channel, _) = try Self.make(gates)
        try HTTPConnectionHandlerTests.send(Self.wait(0) + Self.wait(1) + Self.wait(2) + HTTPConnectionHandlerTests.get, to: channel)
        #expect(gates.held == [0, 1, 2])  // all three run at once; the synchronous fourth answered and held
        Self.release(2, gates, channel)
        Self.release(1, gates, channel)
        #expect(try HTTPConnectionHandlerTests.output(channel).isEmpty)  // the first is still pending
        Self.release(0, gates, channel)
        let text = try HTTPConnectionHandlerTests.output(channel)
        #expect(Self.bodies(text) == ["answer 0", "answer 1", "answer 2", "hello"])
        #expect(channel.isActive)
    }

    @Test func theLimitHoldsReadsUntilAnAnswerIsWritten() throws {
        let gates = Gates()
        let (channel, reads) = try Self.make(gates, .init(maxPipelinedRequests: 2))
        try HTTPConnectionHandlerTests.send(Self.wait(0) + Self.wait(1) + Self.wait(2), to: channel)
        #expect(gates.held == [0, 1])  // the third waits for room
        channel.read()
        #expect(reads.reads == 0)
        Self.release(0, gates, channel)
        #expect(gates.held == [1, 2])
        #expect(reads.reads == 0)  // at the limit again
        Self.release(1, gates, channel)
        #expect(reads.reads == 1)  // the held read
        Self.release(2, gates, channel)
        #expect(Self.bodies(try HTTPConnectionHandlerTests.output(channel)) == ["answer 0", "answer 1", "answer 2"])
    }

    @Test func anUpgradeBehindAPendingAnswerWaitsForIt() throws {
        let gates = Gates()
        let (channel, _) = try Self.make(gates)
        try HTTPConnectionHandlerTests.send(
            Self.wait(0) + "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            to: channel
        )
        #expect(throws: Never.self) { try channel.pipeline.syncOperations.handler(type: HTTPConnectionHandler.self) }  // it is there
        Self.release(0, gates, channel)
        let text = try HTTPConnectionHandlerTests.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(text.contains("answer 0HTTP/1.1 101"))
        #expect(throws: Never.self) { try channel.pipeline.syncOperations.handler(type: WebSocketChannelHandler.self) }  // it is there
    }

    @Test func quiesceFinishesTheAnswersInFlightThenCloses() throws {
        let gates = Gates()
        let (channel, _) = try Self.make(gates)
        try HTTPConnectionHandlerTests.send(Self.wait(0) + Self.wait(1), to: channel)
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try HTTPConnectionHandlerTests.send(HTTPConnectionHandlerTests.get, to: channel)  // after the quiesce: not served
        Self.release(1, gates, channel)
        #expect(channel.isActive)
        Self.release(0, gates, channel)
        let text = try HTTPConnectionHandlerTests.output(channel)
        #expect(Self.bodies(text) == ["answer 0", "answer 1"])
        #expect(text.lowercased().components(separatedBy: "connection: close").count == 2)  // the last one only
        #expect(!channel.isActive)
    }

    @Test func aClientClosingWithAnswersPendingGetsNothingMore() throws {
        let gates = Gates()
        let (channel, _) = try Self.make(gates)
        try HTTPConnectionHandlerTests.send(Self.wait(0) + Self.wait(1), to: channel)
        try channel.close().wait()
        Self.release(1, gates, channel)
        Self.release(0, gates, channel)
        #expect(try HTTPConnectionHandlerTests.output(channel).isEmpty)
    }

    @Test func aRefusalBehindAPendingAnswerIsAnsweredInItsTurn() throws {
        let gates = Gates()
        let (channel, _) = try Self.make(gates, .init(maxRequestBodySize: 4))
        try HTTPConnectionHandlerTests.send(
            Self.wait(0) + "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789" + Self.wait(1),
            to: channel
        )
        #expect(gates.held == [0])  // nothing after the refused request starts
        #expect(try HTTPConnectionHandlerTests.output(channel).isEmpty)
        Self.release(0, gates, channel)
        let text = try HTTPConnectionHandlerTests.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(text.contains("answer 0HTTP/1.1 413"))
    }
}
