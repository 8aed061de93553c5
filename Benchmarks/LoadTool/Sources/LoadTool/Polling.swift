// The first half of a connect as the official clients make it by default: Engine.IO over HTTP long-polling, by hand
// on one keep-alive connection. `GET` -> `0{"sid":...}`, `POST 40` -> `ok`, `GET` -> `40{...}` (the namespace is
// connected); then the session's sid goes to a `SocketIOClient`, which upgrades it to WebSocket and authenticates.
import NIOCore

/// Opens an Engine.IO session over polling and connects the main namespace; succeeds with the session id.
final class PollingHandshake: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Step { case open, connect, connected }
    private var step = Step.open
    private var sid = ""
    private var buffer: ByteBuffer?
    private var polls = 0
    private var finished = false
    private let host: String
    let done: EventLoopPromise<String>

    /// Long-polls that may come back without the namespace's `40` (a noop, a ping) before the handshake gives up.
    private static let maxPolls = 5

    init(host: String, port: Int, promise: EventLoopPromise<String>) {
        self.host = "\(host):\(port)"
        done = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        send("GET", query: "", body: nil, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ClientError.closed))  // nothing once it succeeded
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    private func finish(_ result: Result<String, any Error>) {
        guard !finished else { return }
        finished = true
        done.completeWith(result)
    }

    private func send(_ method: String, query: String, body: String?, context: ChannelHandlerContext) {
        var request = "\(method) /socket.io/?EIO=4&transport=polling\(query) HTTP/1.1\r\nHost: \(host)\r\n"
        if let body {
            request += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        } else {
            request += "\r\n"
        }
        var out = context.channel.allocator.buffer(capacity: request.utf8.count)
        out.writeString(request)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    private func fail(_ message: String, context: ChannelHandlerContext) {
        finish(.failure(ClientError.pollingRefused(message)))
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        while let (status, body) = takeResponse() {
            guard status == 200 else { return fail("HTTP \(status): \(body.prefix(80))", context: context) }
            answer(body, context: context)
            if step == .connected { return }
        }
    }

    /// The next complete response in the buffer (status, body), if there is one; needs a Content-Length.
    private func takeResponse() -> (Int, String)? {
        guard var buffer, let head = httpHeadLength(buffer) else { return nil }
        let headText = buffer.getString(at: buffer.readerIndex, length: head) ?? ""
        var length = 0
        for line in headText.split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                length = Int(parts[1].drop(while: { $0 == " " })) ?? 0
            }
        }
        guard buffer.readableBytes >= head + length else { return nil }
        let status = Int(headText.split(separator: " ").dropFirst().first ?? "") ?? 0
        buffer.moveReaderIndex(forwardBy: head)
        let body = buffer.readString(length: length) ?? ""
        self.buffer = buffer.readableBytes > 0 ? buffer : nil
        return (status, body)
    }

    /// Moves the handshake on with the body of the answer to the request of the current step.
    private func answer(_ body: String, context: ChannelHandlerContext) {
        switch step {
        case .open:
            // 0{"sid":"...","upgrades":["websocket"],...}
            guard body.hasPrefix("0{"), let start = body.range(of: #""sid":""#),
                  let end = body[start.upperBound...].firstIndex(of: "\"")
            else { return fail("no open packet: \(body.prefix(80))", context: context) }
            sid = String(body[start.upperBound..<end])
            guard body.contains(#""websocket""#) else { return fail("no websocket upgrade offered", context: context) }
            step = .connect
            send("POST", query: "&sid=\(sid)", body: "40", context: context)
        case .connect:
            if body == "ok" {
                send("GET", query: "&sid=\(sid)", body: nil, context: context)
                return
            }
            // packets are separated by 0x1e; the namespace's answer is `40{...}` or, refused, `44{...}`
            let packets = body.split(separator: "\u{1e}")
            if packets.contains(where: { $0.hasPrefix("40") }) {
                step = .connected
                finish(.success(sid))
                context.close(promise: nil)  // the WebSocket carries the session from here
            } else if let refusal = packets.first(where: { $0.hasPrefix("44") }) {
                fail(String(refusal.prefix(80)), context: context)
            } else if polls < Self.maxPolls {
                polls += 1
                send("GET", query: "&sid=\(sid)", body: nil, context: context)
            } else {
                fail("no namespace connect after \(polls) polls", context: context)
            }
        case .connected:
            break
        }
    }
}
