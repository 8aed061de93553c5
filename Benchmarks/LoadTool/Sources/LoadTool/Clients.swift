// Engine.IO v4 / Socket.IO v5 over WebSocket, written by hand on raw SwiftNIO channels, plus a pipelining
// keep-alive HTTP/1.1 client for the admin API. Everything runs on ONE event loop thread, so the shared state
// (`Stats`) is confined to it and needs no locks.
import NIOCore
import NIOHTTP1
import NIOPosix
import Histogram

#if canImport(Glibc)
import Glibc
#endif

@inline(__always) func nowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)  // system wide: comparable between processes
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Counters of one load-tool process; touched only on its event loop.
final class Stats {
    var authenticated = 0
    var failed = 0
    var closedAfterAuth = 0
    var received = 0
    var lastReceive: UInt64 = 0
    var firstReceive: UInt64 = 0
    var expected = Int.max
    var expectation: EventLoopPromise<Void>?
    var recordLatency = false
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)  // µs
    var latencyOverflow = 0
    /// With `--check-ids`: every (user, seq) delivered, so that a duplicate cannot hide a loss in `received`.
    var checkIDs = false
    var ids = Set<Int>()
    var duplicates = 0

    func reset(expecting count: Int, promise: EventLoopPromise<Void>?) {
        ids.removeAll(keepingCapacity: true)
        duplicates = 0
        received = 0
        lastReceive = 0
        firstReceive = 0
        expected = count
        expectation = promise
        if count == 0 { promise?.succeed(()) ; expectation = nil }
    }

    @inline(__always) func delivered(payload: UnsafeRawBufferPointer, user: Int) {
        if checkIDs { recordID(payload: payload, user: user) }
        let now = nowNs()
        if received == 0 { firstReceive = now }
        received += 1
        lastReceive = now
        if recordLatency {
            // 42["message","{\"t\":123...  (or the raw value {"t":123...): the first digits after the event name
            var index = 12
            while index < payload.count, payload[index] < 0x30 || payload[index] > 0x39 { index += 1 }
            var sent: UInt64 = 0
            while index < payload.count, payload[index] >= 0x30, payload[index] <= 0x39 {
                sent = sent &* 10 &+ UInt64(payload[index] &- 0x30)
                index += 1
            }
            let micros = now > sent ? (now - sent) / 1000 : 0
            if !latency.record(micros) { latencyOverflow += 1 }
        }
        if received >= expected, let promise = expectation {
            expectation = nil
            promise.succeed(())
        }
    }

    /// Records the `seq` of a fan-out or latency message (`..."seq":N...`, quotes escaped or not) for `user`.
    private func recordID(payload: UnsafeRawBufferPointer, user: Int) {
        let key: [UInt8] = Array("seq".utf8)
        guard payload.count > key.count,
            let start = (0..<(payload.count - key.count)).first(where: { at in (0..<key.count).allSatisfy { payload[at + $0] == key[$0] } })
        else { return }
        var index = start + key.count
        while index < payload.count, payload[index] < 0x30 || payload[index] > 0x39 { index += 1 }
        var seq = 0
        while index < payload.count, payload[index] >= 0x30, payload[index] <= 0x39 {
            seq = seq &* 10 &+ Int(payload[index] &- 0x30)
            index += 1
        }
        if !ids.insert(user << 32 | seq).inserted { duplicates += 1 }
    }
}

/// The length of the HTTP head at the start of `buffer`'s readable bytes, up to and including its blank line; nil
/// while incomplete. A byte loop: the generic `firstRange(of:)` was a tenth of the tool's time per connect.
func httpHeadLength(_ buffer: ByteBuffer) -> Int? {
    buffer.withUnsafeReadableBytes { bytes in
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13
            && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }
}

enum ClientError: Error {
    case upgradeRefused(String), closed, connectError(String), authRefused(String), pollingRefused(String)
}

/// One Socket.IO client: HTTP upgrade, `0{...}` -> `40`, `40{...}` -> `421["auth",uid,"hash"]`, `431[{...}]` = authenticated.
/// With the `sid` of a session opened over HTTP long-polling (``PollingHandshake``), it upgrades that session
/// instead: `2probe` -> `3probe`, then `5` and the `auth` event (the namespace is connected already).
final class SocketIOClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case upgrading, open }
    private var state = State.upgrading
    private var buffer: ByteBuffer?
    private let request: String
    private let auth: String
    private let stats: Stats
    private let userId: Int
    let authenticated: EventLoopPromise<Void>
    private var authDone = false
    private(set) var channel: (any Channel)?

    private let upgradesSession: Bool

    init(host: String, port: Int, userId: Int, hash: String, sid: String? = nil, stats: Stats, promise: EventLoopPromise<Void>) {
        upgradesSession = sid != nil
        request = "GET /socket.io/?EIO=4&transport=websocket\(sid.map { "&sid=\($0)" } ?? "") HTTP/1.1\r\nHost: \(host):\(port)\r\n"
            + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Sec-WebSocket-Version: 13\r\n\r\n"
        auth = #"421["auth",\#(userId),"\#(hash)"]"#
        self.stats = stats
        self.userId = userId
        authenticated = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        channel = context.channel
        var out = context.channel.allocator.buffer(capacity: request.utf8.count)
        out.writeString(request)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if authDone { stats.closedAfterAuth += 1 } else { finishAuth(.failure(ClientError.closed)) }
        channel = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finishAuth(.failure(error))
        context.close(promise: nil)
    }

    private func finishAuth(_ result: Result<Void, any Error>) {
        guard !authDone else { return }
        authDone = true
        switch result {
        case .success: stats.authenticated += 1; authenticated.succeed(())
        case .failure(let error): stats.failed += 1; authenticated.fail(error)
        }
    }

    /// A masked client text frame (mask key 0, so the payload goes out as is: valid per RFC 6455).
    private func send(_ text: String, context: ChannelHandlerContext) {
        let count = text.utf8.count
        var out = context.channel.allocator.buffer(capacity: count + 8)
        out.writeInteger(UInt8(0x81))
        if count < 126 {
            out.writeInteger(UInt8(0x80 | count))
        } else {
            out.writeInteger(UInt8(0x80 | 126))
            out.writeInteger(UInt16(count))
        }
        out.writeInteger(UInt32(0))
        out.writeString(text)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        process(context: context)
        if let buffer, buffer.readableBytes == 0 { self.buffer = nil }
    }

    private func process(context: ChannelHandlerContext) {
        guard var buffer = self.buffer else { return }
        self.buffer = nil
        defer { self.buffer = buffer }
        if state == .upgrading {
            guard let headLength = httpHeadLength(buffer) else { return }
            let switched = buffer.readableBytesView.starts(with: "HTTP/1.1 101".utf8)
            guard switched else {
                let head = buffer.getString(at: buffer.readerIndex, length: min(80, headLength)) ?? ""
                finishAuth(.failure(ClientError.upgradeRefused(head)))
                context.close(promise: nil)
                return
            }
            buffer.moveReaderIndex(forwardBy: headLength)
            state = .open
            if upgradesSession { send("2probe", context: context) }
        }
        while buffer.readableBytes >= 2 {
            let reader = buffer.readerIndex
            let b0 = buffer.getInteger(at: reader, as: UInt8.self)!
            let b1 = buffer.getInteger(at: reader + 1, as: UInt8.self)!
            var header = 2
            var length = Int(b1 & 0x7F)
            if length == 126 {
                guard buffer.readableBytes >= 4 else { return }
                length = Int(buffer.getInteger(at: reader + 2, as: UInt16.self)!)
                header = 4
            } else if length == 127 {
                guard buffer.readableBytes >= 10 else { return }
                length = Int(buffer.getInteger(at: reader + 2, as: UInt64.self)!)
                header = 10
            }
            if b1 & 0x80 != 0 { header += 4 }  // a server must not mask; tolerated, payload left masked
            guard buffer.readableBytes >= header + length else { return }
            let opcode = b0 & 0x0F
            switch opcode {
            case 0x1, 0x0:
                buffer.withUnsafeReadableBytes { raw in
                    handle(text: UnsafeRawBufferPointer(rebasing: raw[header..<(header + length)]), context: context)
                }
            case 0x8:
                context.close(promise: nil)
            case 0x9:
                var pong = context.channel.allocator.buffer(capacity: 6)
                pong.writeInteger(UInt8(0x8A)); pong.writeInteger(UInt8(0x80)); pong.writeInteger(UInt32(0))
                context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            default:
                break
            }
            buffer.moveReaderIndex(forwardBy: header + length)
        }
        if buffer.readerIndex > 65536 { buffer.discardReadBytes() }
    }

    private static func contains(_ bytes: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        return word.withUTF8Buffer { needle in
            (0...(bytes.count - count)).contains { start in
                (0..<count).allSatisfy { bytes[start + $0] == needle[$0] }
            }
        }
    }

    private func handle(text: UnsafeRawBufferPointer, context: ChannelHandlerContext) {
        guard let kind = text.first else { return }
        switch kind {
        case UInt8(ascii: "4"):
            guard text.count >= 2 else { return }
            switch text[1] {
            case UInt8(ascii: "2"):
                stats.delivered(payload: text, user: userId)
            case UInt8(ascii: "0"):
                send(auth, context: context)
            case UInt8(ascii: "3"):
                // 431[{"ok":true}]
                if Self.contains(text, "true") { finishAuth(.success(())) } else {
                    finishAuth(.failure(ClientError.authRefused(String(decoding: text, as: UTF8.self))))
                    context.close(promise: nil)
                }
            case UInt8(ascii: "4"):
                finishAuth(.failure(ClientError.connectError(String(decoding: text, as: UTF8.self))))
                context.close(promise: nil)
            case UInt8(ascii: "1"):
                context.close(promise: nil)
            default:
                break
            }
        case UInt8(ascii: "0"):
            send("40", context: context)
        case UInt8(ascii: "3") where upgradesSession && text.count == 6:  // 3probe: the upgrade may go on
            send("5", context: context)
            send(auth, context: context)
        case UInt8(ascii: "2"):
            send("3", context: context)
        case UInt8(ascii: "1"):
            context.close(promise: nil)
        default:
            break
        }
    }
}

/// A keep-alive HTTP/1.1 connection to the admin API; requests may be pipelined (answers come in order).
final class AdminConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private var pending = CircularBuffer<EventLoopPromise<(Int, String)>>()
    private var status = 0
    private var body = ""
    private var context: ChannelHandlerContext?
    let host: String
    var inFlight: Int { pending.count }
    var errors = 0

    init(host: String) { self.host = host }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = pending.popFirst() { promise.fail(ClientError.closed) }
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        while let promise = pending.popFirst() { promise.fail(error) }
        context.close(promise: nil)
    }

    /// On the event loop only.
    func post(_ path: String, json: String, flush: Bool = true) -> EventLoopFuture<(Int, String)> {
        guard let context else { return loop.makeFailedFuture(ClientError.closed) }
        let promise = context.eventLoop.makePromise(of: (Int, String).self)
        pending.append(promise)
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(json.utf8.count))
        var bytes = context.channel.allocator.buffer(capacity: json.utf8.count)
        bytes.writeString(json)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
        if flush { context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil) } else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        }
        return promise.futureResult
    }

    func flush() { context?.flush() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body = ""
        case .body(let bytes):
            body += String(buffer: bytes)
        case .end:
            if status != 200 { errors += 1 }
            pending.popFirst()?.succeed((status, body))
        }
    }
}

/// The event loop every channel of this process lives on.
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
