import Foundation
import NIOCore
import NIOEmbedded
import NIOWebSocket
import PushinatorTestSupport
import Testing

@testable import PushinatorHTTP

/// A WebSocket connection on an `EmbeddedChannel`: the close handshake and output flow control carried out.
@Suite("WebSocket connection")
struct WebSocketConnectionTests {

    /// Records what the connection reports.
    final class Recorder: WebSocketDelegate {
        var messages: [WebSocketMessage] = []
        var closeCodes: [WebSocketCloseCode?] = []
        func webSocket(_ connection: WebSocketConnection, didReceive message: WebSocketMessage) {
            messages.append(message)
        }
        func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?) { closeCodes.append(code) }
    }

    struct Fixture {
        let channel: EmbeddedChannel
        let connection: WebSocketConnection
        let reads: ReadCounter
        let recorder: Recorder
    }

    static func make(_ configuration: WebSocketConfiguration = .init()) throws -> Fixture {
        let channel = EmbeddedChannel()
        let counter = ReadCounter()
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(counter)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        let connection = try WebSocketPipeline.install(on: channel, configuration: configuration)
        let recorder = Recorder()
        connection.delegate = recorder
        return Fixture(channel: channel, connection: connection, reads: counter, recorder: recorder)
    }

    /// A masked client frame.
    static func clientFrame(opcode: UInt8, payload: [UInt8]) -> ByteBuffer {
        precondition(payload.count < 126)
        let key: [UInt8] = [1, 2, 3, 4]
        var bytes: [UInt8] = [0x80 | opcode, 0x80 | UInt8(payload.count)] + key
        bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        return ByteBuffer(bytes: bytes)
    }

    static func closeFrame(_ code: UInt16) -> ByteBuffer {
        clientFrame(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)])
    }

    /// The frames written to the client so far.
    static func frames(_ channel: EmbeddedChannel) throws -> [RawFrame] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        var frames: [RawFrame] = []
        while let (frame, used) = RawFrame.parse(bytes) {
            frames.append(frame)
            bytes.removeFirst(used)
        }
        return frames
    }

    // MARK: Lifetime

    /// The pre-encoded frame writer holds its connection strongly (a weak reference would slow every retain of it
    /// on the broadcast path): once the channel is closed nothing keeps the connection alive.
    @Test func theConnectionIsReleasedOnceItsChannelIsClosed() throws {
        weak var released: WebSocketConnection?
        try {
            let fixture = try Self.make()
            released = fixture.connection
            fixture.connection.abort()
            fixture.channel.embeddedEventLoop.run()  // the pipeline's handlers are removed in a task after the close
            #expect(!fixture.channel.isActive)
        }()
        #expect(released == nil)
    }

    // MARK: Close handshake

    @Test func weCloseThenThePeersAnswerClosesTheConnection() throws {
        let fixture = try Self.make()
        fixture.connection.close(code: .goingAway)
        let frames = try Self.frames(fixture.channel)
        #expect(frames.map(\.closeCode) == [1001])
        #expect(fixture.channel.isActive)
        #expect(!fixture.connection.isOpen)
        try fixture.channel.writeInbound(Self.closeFrame(1001))
        #expect(!fixture.channel.isActive)
        #expect(fixture.recorder.closeCodes == [WebSocketCloseCode(1001)])
        #expect(try Self.frames(fixture.channel).isEmpty)  // no second close frame
    }

    @Test func thePeerClosesAndGetsItsCodeBack() throws {
        let fixture = try Self.make()
        try fixture.channel.writeInbound(Self.closeFrame(4000))
        #expect(try Self.frames(fixture.channel).map(\.closeCode) == [4000])
        #expect(!fixture.channel.isActive)
        #expect(fixture.recorder.closeCodes == [WebSocketCloseCode(4000)])
    }

    @Test func peerThatNeverAnswersIsClosedAtTheCloseTimeout() throws {
        let fixture = try Self.make(.init(closeTimeout: .milliseconds(30)))
        fixture.connection.close()
        #expect(fixture.channel.isActive)
        // the timers run on real deadlines; the thread sleeps (an EmbeddedEventLoop is used from its own thread only)
        Thread.sleep(forTimeInterval: 0.08)
        fixture.channel.embeddedEventLoop.advanceTime(to: .now())
        #expect(!fixture.channel.isActive)
        #expect(fixture.recorder.closeCodes == [nil])
    }

    @Test func messagesAfterOurCloseAreNotSent() throws {
        let fixture = try Self.make()
        fixture.connection.close()
        fixture.connection.send(.text("late"))
        #expect(try Self.frames(fixture.channel).map(\.opcode) == [0x8])
    }

    // MARK: Flow control

    @Test func clientBehindHoldsReadsUntilItDrains() throws {
        let fixture = try Self.make(.init(slowConsumerPolicy: .drop))
        fixture.channel.isWritable = false
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        fixture.channel.read()
        #expect(fixture.reads.reads == 0)
        fixture.channel.isWritable = true
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        #expect(fixture.reads.reads == 1)
        fixture.channel.read()
        #expect(fixture.reads.reads == 2)
    }

    @Test func clientBehindAtTheWriteTimeoutIsClosed() throws {
        let fixture = try Self.make(.init(slowConsumerPolicy: .drop, writeTimeout: .milliseconds(30)))
        fixture.channel.isWritable = false
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        Thread.sleep(forTimeInterval: 0.08)
        fixture.channel.embeddedEventLoop.advanceTime(to: .now())
        #expect(!fixture.channel.isActive)
    }

    @Test func clientThatDrainsInTimeStaysOpen() throws {
        let fixture = try Self.make(.init(slowConsumerPolicy: .drop, writeTimeout: .milliseconds(30)))
        fixture.channel.isWritable = false
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        fixture.channel.isWritable = true
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        Thread.sleep(forTimeInterval: 0.08)
        fixture.channel.embeddedEventLoop.advanceTime(to: .now())
        #expect(fixture.channel.isActive)
    }

    @Test func slowConsumerIsDisconnectedWith1008ByDefault() throws {
        let fixture = try Self.make()
        fixture.channel.isWritable = false
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        fixture.connection.send(.text("too much"))
        #expect(try Self.frames(fixture.channel).map(\.closeCode) == [1008])
    }

    @Test func slowConsumerLosesMessagesUnderTheDropPolicy() throws {
        let fixture = try Self.make(.init(slowConsumerPolicy: .drop))
        fixture.channel.isWritable = false
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        fixture.connection.send(.text("dropped"))
        #expect(try Self.frames(fixture.channel).isEmpty)
        #expect(fixture.connection.isOpen)
        fixture.channel.isWritable = true
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        fixture.connection.send(.text("kept"))
        #expect(try Self.frames(fixture.channel).map(\.text) == ["kept"])
    }

    @Test func pingWhileBehindGetsNoPong() throws {
        let fixture = try Self.make(.init(slowConsumerPolicy: .drop))
        try fixture.channel.writeInbound(Self.clientFrame(opcode: 0x9, payload: [1]))
        #expect(try Self.frames(fixture.channel).map(\.opcode) == [0xA])
        fixture.channel.isWritable = false
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        try fixture.channel.writeInbound(Self.clientFrame(opcode: 0x9, payload: [2]))
        #expect(try Self.frames(fixture.channel).isEmpty)
    }

    @Test func messagesReachTheDelegate() throws {
        let fixture = try Self.make()
        try fixture.channel.writeInbound(Self.clientFrame(opcode: 0x1, payload: Array("hi".utf8)))
        #expect(fixture.recorder.messages == [.text("hi")])
    }
}
