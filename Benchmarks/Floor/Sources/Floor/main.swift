// The floor server of issue 5: the least work a SwiftNIO server can do for the pushinator contract, so the load
// tool can show how close pushinator comes to what the machine can do. NOT a server to run: no pings, no sessions,
// no polling, every `auth` is accepted, the admin API parses only the bodies the load tool sends.
//
// One event loop thread owns everything (admin + client channels), so the registry needs no locks.
// A broadcast encodes ONE WebSocket frame (header + `42["message","..."]`) into one ByteBuffer and writes that same
// buffer (refcounted, never copied) to every authenticated channel; flushes are batched: every K broadcasts
// (`--flush-every K`) and at the end of the event loop tick (an `execute` task) for the remainder. `--flush-every
// tick` flushes at the end of the tick only, as pushinator does (the benchmark's default: the same batching).
//
//   floor --admin-port 9600 --client-port 9601 [--flush-every 8|tick] [--host 127.0.0.1]
// prints `LISTENING admin=PORT client=PORT` on stdout.
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

#if canImport(Glibc)
import Glibc
#endif

// MARK: command line

var adminPort = 9600
var clientPort = 9601
var host = "127.0.0.1"
var flushEvery = 8
do {
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
        switch argument {
        case "--admin-port": adminPort = Int(arguments.next() ?? "") ?? adminPort
        case "--client-port": clientPort = Int(arguments.next() ?? "") ?? clientPort
        case "--host": host = arguments.next() ?? host
        case "--flush-every":
            let value = arguments.next() ?? ""
            flushEvery = value == "tick" ? .max : max(1, Int(value) ?? flushEvery)
        case "-c": _ = arguments.next()  // accepted for CLI compatibility with pushinator; ports come from flags
        default:
            FileHandleOut.write("unknown argument \(argument)\n", error: true)
            exit(2)
        }
    }
}

enum FileHandleOut {
    static func write(_ text: String, error: Bool = false) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(error ? 2 : 1, bytes.baseAddress, bytes.count) }
    }
}

// MARK: frames

/// A server-to-client text frame (unmasked) holding `payload`.
func textFrame(_ payload: some Collection<UInt8>, allocator: ByteBufferAllocator) -> ByteBuffer {
    var buffer = allocator.buffer(capacity: payload.count + 10)
    buffer.writeInteger(UInt8(0x81))
    if payload.count < 126 {
        buffer.writeInteger(UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        buffer.writeInteger(UInt8(126))
        buffer.writeInteger(UInt16(payload.count))
    } else {
        buffer.writeInteger(UInt8(127))
        buffer.writeInteger(UInt64(payload.count))
    }
    buffer.writeBytes(payload)
    return buffer
}

/// `42["message","<json text as a JSON string>"]`: what pushinator sends (JSON.stringify of the message).
func messagePacket(_ json: ByteBufferView) -> [UInt8] {
    var out: [UInt8] = Array("42[\"message\",\"".utf8)
    out.reserveCapacity(json.count * 2 + 20)
    for byte in json {
        switch byte {
        case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
        case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
        case 0..<0x20:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: Array("\\u00".utf8))
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 15)])
        default: out.append(byte)
        }
    }
    out.append(contentsOf: Array("\"]".utf8))
    return out
}

// MARK: the registry (event loop confined)

final class Registry {
    let loop: any EventLoop
    var authenticated: [ObjectIdentifier: ClientHandler] = [:]
    var all: [ClientHandler] = []  // broadcast order; compacted lazily
    var byUser: [Int: [ClientHandler]] = [:]
    var dirty: [ClientHandler] = []
    var sinceFlush = 0
    var flushScheduled = false
    var nextSid = 0

    init(loop: any EventLoop) { self.loop = loop }

    func add(_ client: ClientHandler, user: Int) {
        if authenticated[ObjectIdentifier(client)] != nil { return }
        authenticated[ObjectIdentifier(client)] = client
        all.append(client)
        byUser[user, default: []].append(client)
    }

    func remove(_ client: ClientHandler) {
        guard authenticated.removeValue(forKey: ObjectIdentifier(client)) != nil else { return }
        all.removeAll { $0 === client }
        if let user = client.user { byUser[user]?.removeAll { $0 === client } }
    }

    func broadcast(_ frame: ByteBuffer) -> Int {
        for client in all { client.send(frame) }
        afterWrites(flushAll: true, clients: [])
        return all.count
    }

    func send(_ frame: ByteBuffer, to user: Int) -> Int {
        let clients = byUser[user] ?? []
        for client in clients { client.send(frame) }
        afterWrites(flushAll: false, clients: clients)
        return clients.count
    }

    private func afterWrites(flushAll: Bool, clients: [ClientHandler]) {
        if !flushAll {
            for client in clients where !client.dirty {
                client.dirty = true
                dirty.append(client)
            }
        } else {
            for client in all where !client.dirty {
                client.dirty = true
                dirty.append(client)
            }
        }
        sinceFlush += 1
        if sinceFlush >= flushEvery {
            flush()
        } else if !flushScheduled {
            flushScheduled = true
            loop.execute { self.flush() }  // end of this tick: coalesce everything written in it
        }
    }

    func flush() {
        flushScheduled = false
        sinceFlush = 0
        let clients = dirty
        dirty.removeAll(keepingCapacity: true)
        for client in clients {
            client.dirty = false
            client.context?.flush()
        }
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let registry = Registry(loop: loop)

// MARK: client side (Engine.IO over WebSocket only)

final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    var context: ChannelHandlerContext?
    var user: Int?
    var dirty = false
    let sid: String

    let raw: RawWriter

    init(sid: String, raw: RawWriter) {
        self.sid = sid
        self.raw = raw
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = raw.context
    }

    /// The upgrade finished (HTTP handlers gone): send the Engine.IO open packet.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is HTTPServerUpgradeEvents else { return context.fireUserInboundEventTriggered(event) }
        guard let context = raw.context else { return }
        let open = #"0{"sid":"\#(sid)","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        context.writeAndFlush(wrapOutboundOut(textFrame(Array(open.utf8), allocator: context.channel.allocator)), promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        registry.remove(self)
        self.context = nil
    }

    func send(_ frame: ByteBuffer) {
        context?.write(wrapOutboundOut(frame), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            var data = frame.unmaskedData
            let bytes = data.readBytes(length: data.readableBytes) ?? []
            handle(packet: bytes, context: context)
        case .connectionClose:
            context.close(promise: nil)
        case .ping:
            var pong = context.channel.allocator.buffer(capacity: 2 + frame.data.readableBytes)
            pong.writeInteger(UInt8(0x8A))
            var payload = frame.unmaskedData
            pong.writeInteger(UInt8(payload.readableBytes))
            pong.writeBuffer(&payload)
            raw.context?.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        default:
            break
        }
    }

    private func reply(_ text: String, context: ChannelHandlerContext) {
        guard let context = raw.context else { return }
        context.writeAndFlush(wrapOutboundOut(textFrame(Array(text.utf8), allocator: context.channel.allocator)), promise: nil)
    }

    private func handle(packet: [UInt8], context: ChannelHandlerContext) {
        guard let first = packet.first else { return }
        switch first {
        case UInt8(ascii: "4"):
            guard packet.count >= 2 else { return }
            if packet[1] == UInt8(ascii: "0") {
                reply(#"40{"sid":"\#(sid)"}"#, context: context)
            } else if packet[1] == UInt8(ascii: "2") {
                // 42[ackId]["auth",uid,"hash"]: accept everything
                var index = 2
                var ack: Int?
                while index < packet.count, packet[index] >= 0x30, packet[index] <= 0x39 {
                    ack = (ack ?? 0) * 10 + Int(packet[index] - 0x30)
                    index += 1
                }
                let rest = packet[index...]
                guard rest.starts(with: Array(#"["auth","#.utf8)) else { return }
                var cursor = rest.startIndex + 8
                if cursor < packet.count, packet[cursor] == UInt8(ascii: "\"") { cursor += 1 }
                var uid = 0
                while cursor < packet.count, packet[cursor] >= 0x30, packet[cursor] <= 0x39 {
                    uid = uid * 10 + Int(packet[cursor] - 0x30)
                    cursor += 1
                }
                user = uid
                registry.add(self, user: uid)
                if let ack { reply(#"43\#(ack)[{"ok":true}]"#, context: context) }
            }
        case UInt8(ascii: "1"):
            context.close(promise: nil)
        default:
            break  // "3" pong and everything else
        }
    }
}

/// Writes pre-encoded WebSocket frames straight to the socket (it is the first handler of the pipeline).
final class RawWriter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var context: ChannelHandlerContext?
    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }
}

final class RefuseHTTP: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            var head = HTTPResponseHead(version: .http1_1, status: .badRequest)
            head.headers.add(name: "content-length", value: "0")
            head.headers.add(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        }
    }
}

let upgrader = NIOWebSocketServerUpgrader(
    maxFrameSize: 1 << 20,
    shouldUpgrade: { channel, head in
        channel.eventLoop.makeSucceededFuture(head.uri.hasPrefix("/socket.io/") ? HTTPHeaders() : nil)
    },
    upgradePipelineHandler: { channel, _ in
        // Frames are written pre-encoded (one shared buffer per broadcast) through `RawWriter`, which sits at the
        // head of the pipeline, so they bypass WebSocketFrameEncoder.
        registry.nextSid += 1
        let raw = RawWriter()
        return channel.pipeline.addHandler(raw, position: .first).flatMap {
            channel.pipeline.addHandler(ClientHandler(sid: "floor\(registry.nextSid)", raw: raw))
        }
    }
)

let clientServer = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        let refuse = RefuseHTTP()
        return channel.pipeline.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                context.pipeline.removeHandler(refuse, promise: nil)
            })
        ).flatMap { channel.pipeline.addHandler(refuse) }
    }
    .bind(host: host, port: clientPort).wait()

// MARK: admin side

/// `"key":` followed by an integer or a quoted integer.
func integer(after key: String, in body: [UInt8]) -> Int? {
    let needle = Array("\"\(key)\":".utf8)
    guard let start = body.firstRange(of: needle)?.upperBound else { return nil }
    var cursor = start
    while cursor < body.count, body[cursor] == 0x20 || body[cursor] == UInt8(ascii: "\"") { cursor += 1 }
    var value = 0
    var any = false
    while cursor < body.count, body[cursor] >= 0x30, body[cursor] <= 0x39 {
        value = value * 10 + Int(body[cursor] - 0x30)
        cursor += 1
        any = true
    }
    return any ? value : nil
}

/// The raw JSON text of `"message":` up to the body's closing brace (the load tool puts it last).
func messageJSON(in body: [UInt8]) -> ByteBuffer? {
    let needle = Array(#""message":"#.utf8)
    guard let start = body.firstRange(of: needle)?.upperBound,
          let end = body.lastIndex(of: UInt8(ascii: "}")), end > start else { return nil }
    var buffer = ByteBuffer()
    buffer.writeBytes(body[start..<end])
    return buffer
}

final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    var uri = ""
    var keepAlive = true
    var body: [UInt8] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            uri = head.uri
            keepAlive = head.isKeepAlive
            body.removeAll(keepingCapacity: true)
        case .body(var chunk):
            body.append(contentsOf: chunk.readBytes(length: chunk.readableBytes) ?? [])
        case .end:
            respond(context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        var status = HTTPResponseStatus.ok
        var text = #"{"result":"OK","status":200}"#
        switch uri {
        case "/user/register", "/ping", "/health":
            break
        case "/broadcast", "/user/send":
            guard let message = messageJSON(in: body) else {
                status = .badRequest
                text = #"{"error":"Missing message in data","status":400}"#
                break
            }
            let frame = textFrame(messagePacket(message.readableBytesView), allocator: context.channel.allocator)
            let delivered: Int
            if uri == "/broadcast" {
                delivered = registry.broadcast(frame)
            } else if let user = integer(after: "userId", in: body) {
                delivered = registry.send(frame, to: user)
            } else {
                status = .badRequest
                text = #"{"error":"Missing userId or message in data","status":400}"#
                break
            }
            text = #"{"result":"OK","delivered":\#(delivered),"status":200}"#
        default:
            status = .notFound
            text = #"{"error":"Not Found","status":404}"#
        }
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers.add(name: "content-type", value: "application/json")
        head.headers.add(name: "content-length", value: String(text.utf8.count))
        if !keepAlive { head.headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.whenComplete { _ in context.close(promise: nil) } }
    }
}

let adminServer = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(AdminHandler()) }
    }
    .bind(host: host, port: adminPort).wait()

FileHandleOut.write("LISTENING admin=\(adminServer.localAddress!.port!) client=\(clientServer.localAddress!.port!)\n")
signal(SIGTERM) { _ in exit(0) }
try clientServer.closeFuture.wait()
