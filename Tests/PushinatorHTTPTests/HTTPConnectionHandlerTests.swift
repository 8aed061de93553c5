import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import PushinatorHTTP

/// The connection handler on an `EmbeddedChannel`: each transition of its state machine, carried out on a channel.
@Suite("HTTP connection handler")
struct HTTPConnectionHandlerTests {

    static let router = Router {
        Get("x") { _, _ in "hello" }
        Post("echo") { request, _ in Response.text(String(buffer: request.body.buffer)) }
        Get("ws") { _, _ in Response.webSocket { _ in } }
    }

    static func make(
        _ configuration: HTTPServerConfiguration = .init(),
        responder: Router = router
    ) throws -> (channel: EmbeddedChannel, reads: ReadCounter) {
        let channel = EmbeddedChannel()
        let counter = ReadCounter()
        let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
        let handler = HTTPConnectionHandler(
            responder: responder,
            configuration: configuration,
            logger: Logger(label: "test"),
            isSecure: false,
            handlers: .init(timer: nil, decoder: decoder)
        )
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(counter)
        try sync.addHandler(decoder)
        try sync.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return (channel, counter)
    }

    /// Sends `text` as one read burst (a read, then the read-complete).
    static func send(_ text: String, to channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// Everything flushed to the client so far.
    static func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    static func responses(in text: String) -> Int {
        text.components(separatedBy: "HTTP/1.1 ").count - 1
    }

    static let get = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"

    @Test func answersAndKeepsTheConnection() throws {
        let (channel, _) = try Self.make()
        try Self.send(Self.get, to: channel)
        let text = try Self.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.hasSuffix("hello"))
        #expect(channel.isActive)
        try Self.send(Self.get, to: channel)
        #expect(Self.responses(in: try Self.output(channel)) == 1)
    }

    @Test func pipelinedRequestsAreAnsweredInOrderInOneFlush() throws {
        let (channel, _) = try Self.make()
        let requests = Self.get + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + Self.get
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(ByteBuffer(string: requests)))
        #expect(try Self.output(channel).isEmpty)  // written, waiting for the end of the read burst
        channel.pipeline.syncOperations.fireChannelReadComplete()
        let text = try Self.output(channel)
        #expect(Self.responses(in: text) == 3)
        let hello = try #require(text.range(of: "hello"))
        let abc = try #require(text.range(of: "abc"))
        #expect(abc.lowerBound > hello.lowerBound)
    }

    @Test func clientBehindHoldsRequestsAndReadsUntilItDrains() throws {
        let (channel, reads) = try Self.make()
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        try Self.send(Self.get, to: channel)
        #expect(try Self.output(channel).isEmpty)
        channel.read()
        #expect(reads.reads == 0)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(reads.reads == 1)  // the held read
        #expect(Self.responses(in: try Self.output(channel)) == 1)
    }

    @Test func clientBehindIsClosedAtTheWriteTimeout() throws {
        let (channel, _) = try Self.make(.init(writeTimeout: .milliseconds(30)))
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        // the timers run on real deadlines; the thread sleeps (an EmbeddedEventLoop is used from its own thread only)
        Thread.sleep(forTimeInterval: 0.08)
        channel.embeddedEventLoop.advanceTime(to: .now())
        #expect(!channel.isActive)
    }

    @Test func clientThatCatchesUpIsNotClosed() throws {
        let (channel, _) = try Self.make(.init(writeTimeout: .milliseconds(30)))
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        Thread.sleep(forTimeInterval: 0.08)
        channel.embeddedEventLoop.advanceTime(to: .now())
        #expect(channel.isActive)
    }

    @Test func bodyOverTheLimitIs413ThenHalfCloses() throws {
        let (channel, _) = try Self.make(.init(maxRequestBodySize: 4))
        try Self.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", to: channel)
        let text = try Self.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 413"))
        #expect(text.lowercased().contains("connection: close"))
    }

    @Test func malformedRequestIs400ThenCloses() throws {
        let (channel, _) = try Self.make()
        try? Self.send("GARBAGE\r\n\r\n", to: channel)
        let text = try Self.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 400"))
        #expect(text.contains("Malformed HTTP request"))
        #expect(!channel.isActive)
    }

    @Test func http10RequestIsAnsweredThenClosed() throws {
        let (channel, _) = try Self.make()
        try Self.send("GET /x HTTP/1.0\r\n\r\n", to: channel)
        #expect(try Self.output(channel).contains("hello"))
        #expect(!channel.isActive)
    }

    @Test func quiesceClosesAnIdleConnection() throws {
        let (channel, _) = try Self.make()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
    }

    @Test func quiesceDuringARequestClosesAfterItsResponse() throws {
        let (channel, _) = try Self.make()
        try Self.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na", to: channel)  // body to come
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(channel.isActive)
        try Self.send("bc", to: channel)
        let text = try Self.output(channel)
        #expect(text.lowercased().contains("connection: close"))
        #expect(text.hasSuffix("abc"))
        #expect(!channel.isActive)
    }

    @Test func webSocketRouteWithoutAnUpgradeIs400() throws {
        let (channel, _) = try Self.make()
        try Self.send("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        let text = try Self.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 400"))
        #expect(channel.isActive)
    }

    @Test func upgradeSwitchesThePipelineToWebSocket() throws {
        let (channel, _) = try Self.make()
        try Self.send(
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            to: channel
        )
        channel.embeddedEventLoop.run()  // the flush batch of the 101
        let text = try Self.output(channel)
        #expect(text.hasPrefix("HTTP/1.1 101"))
        #expect(text.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: HTTPConnectionHandler.self) }
        #expect(throws: Never.self) { try channel.pipeline.syncOperations.handler(type: WebSocketChannelHandler.self) }  // it is there
    }

    @Test func invalidWebSocketKeyIs400() throws {
        let (channel, _) = try Self.make()
        try Self.send(
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n",
            to: channel
        )
        #expect(try Self.output(channel).hasPrefix("HTTP/1.1 400"))
    }
}
