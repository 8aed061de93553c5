import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP client that sends exact bytes and reads raw responses, for tests where the bytes matter.
///
/// Every read waits at most `timeout` seconds (polling the received bytes, never sleeping blindly).
final class RawClient: Sendable {
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
    let channel: any Channel
    let timeout: Double

    private init(channel: any Channel, state: NIOLockedValueBox<State>, timeout: Double) {
        self.channel = channel
        self.state = state
        self.timeout = timeout
    }

    /// Connects to 127.0.0.1:`port`.
    static func connect(port: Int, timeout: Double = 5) async throws -> RawClient {
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
    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Sends raw bytes.
    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// Closes the connection.
    func close() async {
        try? await channel.close().get()
    }

    /// Whether the server closed the connection.
    var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Waits until `extract` finds what it looks for in the unread bytes; it returns the value and the number of
    /// bytes it consumed, or `nil` to wait for more.
    func read<T>(_ what: String, _ extract: ([UInt8], _ closed: Bool) throws -> (T, Int)?) async throws -> T {
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
    func readResponse(isHead: Bool = false) async throws -> RawResponse {
        try await read("an HTTP response") { bytes, closed in try RawResponse.parse(bytes, closed: closed, isHead: isHead) }
    }

    /// Waits until the server closes the connection; returns the unread bytes.
    func readUntilClose() async throws -> [UInt8] {
        try await read("the connection to close") { bytes, closed in closed ? (bytes, bytes.count) : nil }
    }

    // MARK: WebSocket

    /// Sends one client frame, masked unless `masked` is false.
    func sendFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true) async throws {
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
    func readFrame() async throws -> RawFrame {
        try await read("a WebSocket frame") { bytes, _ in RawFrame.parse(bytes) }
    }

    /// Performs the WebSocket handshake on `path`; returns the 101 response.
    @discardableResult
    func upgrade(path: String, extra: String = "") async throws -> RawResponse {
        try await send(Self.upgradeRequest(path: path, extra: extra))
        return try await readResponse()
    }

    static func upgradeRequest(path: String, extra: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(extra)\r\n"
    }
}

/// A parsed HTTP response.
struct RawResponse: Sendable {
    var statusLine = ""
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var chunked: Bool

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The first value of header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of header `name`.
    func headers(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    static func parse(_ bytes: [UInt8], closed: Bool, isHead: Bool) throws -> (RawResponse, Int)? {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else { return nil }
        let headText = String(decoding: bytes[..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let firstLine = lines.removeFirst()
        let statusLine = firstLine.split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw TestFailure("bad status line in \(headText)")
        }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = RawResponse(statusLine: firstLine, status: status, headers: headers, body: [], chunked: false)
        var position = headEnd + 4
        if isHead || status == 204 || status == 304 || (100..<200).contains(status) {
            return (response, position)
        }
        if let length = response.header("content-length").flatMap(Int.init) {
            guard bytes.count >= position + length else { return nil }
            response.body = Array(bytes[position..<position + length])
            return (response, position + length)
        }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            response.chunked = true
            while true {
                guard let lineEnd = find([13, 10], in: bytes, from: position) else { return nil }
                let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";")[0], radix: 16) else {
                    throw TestFailure("bad chunk size \(sizeText)")
                }
                let dataStart = lineEnd + 2
                if size == 0 {
                    guard let end = find([13, 10], in: bytes, from: dataStart) else { return nil }  // no trailers
                    return (response, end + 2)
                }
                guard bytes.count >= dataStart + size + 2 else { return nil }
                response.body.append(contentsOf: bytes[dataStart..<dataStart + size])
                position = dataStart + size + 2
            }
        }
        guard closed else { return nil }
        response.body = Array(bytes[position...])
        return (response, bytes.count)
    }
}

/// A parsed WebSocket frame from the server.
struct RawFrame: Sendable {
    var fin: Bool
    var opcode: UInt8
    var masked: Bool
    var payload: [UInt8]

    var text: String { String(decoding: payload, as: UTF8.self) }
    /// The close code of a close frame.
    var closeCode: UInt16? {
        opcode == 0x8 && payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
    }

    static func parse(_ bytes: [UInt8]) -> (RawFrame, Int)? {
        guard bytes.count >= 2 else { return nil }
        let fin = bytes[0] & 0x80 != 0
        let opcode = bytes[0] & 0x0F
        let masked = bytes[1] & 0x80 != 0
        var length = Int(bytes[1] & 0x7F)
        var position = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            position = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
            position = 10
        }
        var key: [UInt8] = []
        if masked {
            guard bytes.count >= position + 4 else { return nil }
            key = Array(bytes[position..<position + 4])
            position += 4
        }
        guard bytes.count >= position + length else { return nil }
        var payload = Array(bytes[position..<position + length])
        if masked { for index in payload.indices { payload[index] ^= key[index % 4] } }
        return (RawFrame(fin: fin, opcode: opcode, masked: masked, payload: payload), position + length)
    }
}

func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
    var index = start
    while index <= haystack.count - needle.count {
        if haystack[index] == needle[0], Array(haystack[index..<index + needle.count]) == needle { return index }
        index += 1
    }
    return nil
}
