import NIOCore
import NIOHTTP1

/// Answers requests the HTTP decoder cannot parse with a JSON error and closes the connection.
///
/// A head over the decoder's size limit gets 431, anything else malformed gets 400. When a response is already
/// being written, the connection is just closed. Other connections are unaffected.
final class HTTPProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responseInFlight = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let (status, message): (HTTPResponseStatus, String) =
            if case .headerOverflow = error as? HTTPParserError {
                (.requestHeaderFieldsTooLarge, "Request header fields too large")
            } else {
                (.badRequest, "Malformed HTTP request: \(error)")
            }
        if !responseInFlight {
            responseInFlight = true
            var body = context.channel.allocator.buffer(capacity: 96)
            body.writeString("{\"error\":\"\(message)\",\"status\":\(status.code)}")
            let head = HTTPResponseHead(
                version: .http1_1,
                status: status,
                headers: [
                    "content-type": "application/json; charset=utf-8", "content-length": String(body.readableBytes),
                    "connection": "close",
                ]
            )
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: responseInFlight = true
        case .end: responseInFlight = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
