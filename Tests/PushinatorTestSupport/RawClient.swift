import Foundation
import NIOConcurrencyHelpers
package import NIOCore
import NIOPosix

/// A TCP client that sends exact bytes and reads raw responses, for tests where the bytes matter.
///
/// Every read waits at most `timeout` seconds (polling the received bytes, never sleeping blindly).
package final class RawClient: Sendable {
    private struct State {
        var received: [UInt8] = []
        var closed = false
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state: NIOLockedValueBox<State>
        init(state: NIOLockedValueBox<State>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.withLockedValue { $0.received.append(contentsOf: buffer.readableBytesView) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.closed = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    private let state: NIOLockedValueBox<State>
    package let channel: any Channel
    package let timeout: Double

    private init(channel: any Channel, state: NIOLockedValueBox<State>, timeout: Double) {
        self.channel = channel
        self.state = state
        self.timeout = timeout
    }

    /// Connects to 127.0.0.1:`port`.
    package static func connect(port: Int, timeout: Double = 5) async throws -> RawClient {
        let state = NIOLockedValueBox(State())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(state: state))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawClient(channel: channel, state: state, timeout: timeout)
    }

    /// Sends `text` as UTF-8 (use `\r\n` line ends).
    package func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Sends raw bytes.
    package func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// Closes the connection.
    package func close() async {
        try? await channel.close().get()
    }

    /// Whether the server closed the connection.
    package var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Waits until `extract` finds what it looks for in the unread bytes; it returns the value and the number of
    /// bytes it consumed, or `nil` to wait for more.
    package func read<T>(_ what: String, _ extract: ([UInt8], _ closed: Bool) throws -> (T, Int)?) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            let result = try state.withLockedValue { state -> T? in
                guard let (value, consumed) = try extract(state.received, state.closed) else { return nil }
                state.received.removeFirst(consumed)
                return value
            }
            if let result { return result }
            if isClosed, try state.withLockedValue({ try extract($0.received, true) }) == nil {
                throw TestFailure("connection closed while waiting for \(what); unread: \(unreadText)")
            }
            if ContinuousClock.now > deadline {
                throw TestFailure("timed out waiting for \(what); unread: \(unreadText)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private var unreadText: String {
        state.withLockedValue { String(decoding: $0.received.prefix(300), as: UTF8.self) }
    }

    /// Reads one HTTP response.
    package func readResponse(isHead: Bool = false) async throws -> RawResponse {
        try await read("an HTTP response") { bytes, closed in try RawResponse.parse(bytes, closed: closed, isHead: isHead) }
    }

    /// Waits until the server closes the connection; returns the unread bytes.
    package func readUntilClose() async throws -> [UInt8] {
        try await read("the connection to close") { bytes, closed in closed ? (bytes, bytes.count) : nil }
    }

    // MARK: WebSocket

    /// Sends one client frame, masked unless `masked` is false.
    package func sendFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true) async throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            frame.append(maskBit | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame.append(maskBit | 126)
            frame.append(contentsOf: [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)])
        } else {
            frame.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        if masked {
            let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
            frame.append(contentsOf: key)
            frame.append(contentsOf: payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
        } else {
            frame.append(contentsOf: payload)
        }
        try await send(frame)
    }

    /// Reads one server frame.
    package func readFrame() async throws -> RawFrame {
        try await read("a WebSocket frame") { bytes, _ in RawFrame.parse(bytes) }
    }

    /// Performs the WebSocket handshake on `path`; returns the 101 response.
    @discardableResult
    package func upgrade(path: String, extra: String = "") async throws -> RawResponse {
        try await send(Self.upgradeRequest(path: path, extra: extra))
        return try await readResponse()
    }

    package static func upgradeRequest(path: String, extra: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(extra)\r\n"
    }
}
