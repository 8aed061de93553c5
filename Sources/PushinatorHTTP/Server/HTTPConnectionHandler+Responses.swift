import HTTPTypes
import Logging
import NIOCore

/// Writing responses: in-memory bodies leave with their head in one buffer, streamed bodies are chunked.
extension HTTPConnectionHandler {
    /// Bodies up to this size are copied behind the head, so the response is one buffer; larger ones are a
    /// second buffer of the same `writev`.
    static let inlineBodyLimit = 4096

    func write(_ response: Response, info: RequestInfo, context: ChannelHandlerContext) {
        var keepAlive = info.keepAlive && !quiescing && !Self.asksToClose(response)
        switch response.body.storage {
        case .buffer:
            let buffer = encode(response, keepAlive: keepAlive, isHead: info.isHead, context: context)
            writeEnd(buffer, keepAlive: keepAlive, context: context)
        case .stream(let produce):
            if !info.acceptsChunked { keepAlive = false }  // HTTP/1.0: the end of the body is the close
            let hasBody = !info.isHead && Self.mayHaveBody(response.status.code)
            let framing: HTTPResponseHeadWriter.Framing = hasBody && info.acceptsChunked ? .chunked : .none
            var head = context.channel.allocator.buffer(capacity: 256)
            HTTPResponseHeadWriter.write(
                status: response.status,
                fields: response.headers,
                framing: framing,
                keepAlive: keepAlive,
                serverName: configuration.serverName,
                into: &head
            )
            guard hasBody else {
                writeEnd(head, keepAlive: keepAlive, context: context)
                return
            }
            context.writeAndFlush(wrapOutboundOut(head), promise: nil)
            streamBody(produce, chunked: info.acceptsChunked, keepAlive: keepAlive, context: context)
        }
    }

    /// The head and in-memory body of `response`, ready to send.
    func encode(_ response: Response, keepAlive: Bool, isHead: Bool, context: ChannelHandlerContext) -> ByteBuffer {
        var body = response.body.buffer ?? ByteBuffer()
        let status = response.status.code
        let hasBody = Self.mayHaveBody(status)
        // A HEAD response may advertise the length a GET would have had.
        let keepsLength = isHead && body.readableBytes == 0 && response.headers[.contentLength] != nil
        let sendsBody = !isHead && hasBody && body.readableBytes > 0
        let inline = sendsBody && body.readableBytes <= Self.inlineBodyLimit
        var buffer = context.channel.allocator.buffer(capacity: 192 + (inline ? body.readableBytes : 0))
        HTTPResponseHeadWriter.write(
            status: response.status,
            fields: response.headers,
            framing: hasBody && !keepsLength ? .length(body.readableBytes) : .none,
            keepAlive: keepAlive,
            serverName: configuration.serverName,
            keepingLength: keepsLength,
            into: &buffer
        )
        if inline {
            buffer.writeBuffer(&body)
        } else if sendsBody {
            context.write(wrapOutboundOut(buffer), promise: nil)
            return body
        }
        return buffer
    }

    /// Sends the last bytes of a response; then reads the next request, or closes the connection.
    func writeEnd(_ bytes: ByteBuffer, keepAlive: Bool, context: ChannelHandlerContext) {
        if keepAlive {
            state = .idle
            handlers.timer?.requestFinished()
            if isInReadBurst {
                context.write(wrapOutboundOut(bytes), promise: nil)
                flushAtReadComplete = true
            } else {
                context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            }
            drainPending(context: context)
        } else {
            state = .closing
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    static func mayHaveBody(_ status: Int) -> Bool {
        status >= 200 && status != 204 && status != 304
    }

    /// Whether the handler set `Connection: close`.
    private static func asksToClose(_ response: Response) -> Bool {
        guard let connection = response.headers[.connection] else { return false }
        return connection.lowercased().contains("close")
    }

    private func streamBody(
        _ produce: @escaping @Sendable (inout ResponseBodyWriter) async throws -> Void,
        chunked: Bool,
        keepAlive: Bool,
        context: ChannelHandlerContext
    ) {
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
        let logger = self.logger
        Task(executorPreference: EventLoopTaskExecutor.current(on: eventLoop)) {
            var writer = ResponseBodyWriter { part in
                try await eventLoop.flatSubmit {
                    let (handler, context) = bound.value
                    guard case .responding = handler.state else {
                        return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
                    }
                    guard chunked else { return context.writeAndFlush(handler.wrapOutboundOut(part)) }
                    var framed = context.channel.allocator.buffer(capacity: part.readableBytes + 16)
                    HTTPResponseHeadWriter.writeChunkHeader(count: part.readableBytes, into: &framed)
                    var part = part
                    framed.writeBuffer(&part)
                    framed.writeStaticString(HTTPResponseHeadWriter.chunkEnd)
                    return context.writeAndFlush(handler.wrapOutboundOut(framed))
                }.get()
            }
            let failed: Bool
            do {
                try await produce(&writer)
                failed = false
            } catch {
                failed = true
                logger.error("streamed response body failed", metadata: ["error.message": "\(error)"])
            }
            eventLoop.execute {
                let (handler, context) = bound.value
                guard case .responding = handler.state else { return }
                if failed {
                    handler.state = .closing
                    context.close(promise: nil)  // the client must not mistake a cut body for a complete one
                    return
                }
                var end = context.channel.allocator.buffer(capacity: 8)
                if chunked { end.writeStaticString(HTTPResponseHeadWriter.lastChunk) }
                handler.writeEnd(end, keepAlive: keepAlive, context: context)
            }
        }
    }
}
