import HTTPTypes
import Logging
import NIOCore
import PushinatorEventLoop

/// Writing responses: in-memory bodies leave with their head in one buffer, streamed bodies are chunked.
extension HTTPConnectionHandler {
    /// Bodies up to this size are copied behind the head, so the response is one buffer; larger ones are a
    /// second buffer of the same `writev`.
    static let inlineBodyLimit = 4096

    /// Writes `response` to the current request; `keepAlive` (decided by the state machine) says whether the
    /// connection serves another request after it.
    func write(_ response: Response, info: RequestInfo, keepAlive: Bool, context: ChannelHandlerContext) {
        switch response.body.storage {
        case .buffer:
            let buffer = encode(response, keepAlive: keepAlive, isHead: info.isHead, context: context)
            writeEnd(buffer, keepAlive: keepAlive, context: context)
        case .stream(let produce):
            let hasBody = !info.isHead && HTTPConnectionStateMachine.mayHaveBody(response.status.code)
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
        let status = response.status  // parsed from the head's pseudo field on every read: read it once
        let hasBody = HTTPConnectionStateMachine.mayHaveBody(status.code)
        // A HEAD response may advertise the length a GET would have had.
        let keepsLength = isHead && body.readableBytes == 0 && response.headers[.contentLength] != nil
        let sendsBody = !isHead && hasBody && body.readableBytes > 0
        let inline = sendsBody && body.readableBytes <= Self.inlineBodyLimit
        var buffer = context.channel.allocator.buffer(capacity: 192 + (inline ? body.readableBytes : 0))
        HTTPResponseHeadWriter.write(
            status: status,
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

    /// Sends the last bytes of a response; then writes the next answers whose turn came and reads the next request,
    /// or closes the connection.
    func writeEnd(_ bytes: ByteBuffer, keepAlive: Bool, context: ChannelHandlerContext) {
        switch machine.responseEnded(keepAlive: keepAlive) {
        case .keepAlive(let flushNow, let idle):
            if idle { handlers.timer?.requestFinished() }
            if flushNow {
                context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            } else {
                context.write(wrapOutboundOut(bytes), promise: nil)  // flushed at the end of the read burst
            }
            drainPending(context: context)
        case .close:
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
        }
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
                    guard handler.machine.isResponding else {
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
                if failed {
                    // The client must not mistake a cut body for a complete one.
                    if handler.machine.streamFailed() { context.close(promise: nil) }
                    return
                }
                guard handler.machine.isResponding else { return }
                var end = context.channel.allocator.buffer(capacity: 8)
                if chunked { end.writeStaticString(HTTPResponseHeadWriter.lastChunk) }
                handler.writeEnd(end, keepAlive: keepAlive, context: context)
            }
        }
    }
}
