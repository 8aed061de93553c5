public import NIOCore
import NIOWebSocket
import PushinatorEventLoop

/// One WebSocket connection after the upgrade.
///
/// Writes are safe from any thread; they are cheapest on the connection's ``eventLoop``, where protocol engines
/// run. Outbound bytes are bounded: when the client does not read and the queue passes
/// ``WebSocketConfiguration/maxBufferedBytes``, the ``SlowConsumerPolicy`` applies.
///
/// The same payload buffer can be sent to many connections without copying: frame headers are written apart
/// from the payload.
public final class WebSocketConnection: @unchecked Sendable {
    // Mutable state is only touched on `eventLoop`. What a broadcast reads for every recipient comes first, so that
    // it shares one cache line (stored properties are laid out in declaration order).
    /// The identity of ``eventLoop``: compare it with `ObjectIdentifier(loop)` to group connections by loop (as a
    /// broadcast does) without touching the existential.
    public let eventLoopID: ObjectIdentifier
    /// The context of the ``EncodedFrameWriter``, through which encoded frames skip the rest of the pipeline; set once
    /// when the pipeline is built, dropped when the connection closes. Kept here rather than read from the writer:
    /// one object less to touch per recipient of a broadcast.
    var writerContext: ChannelHandlerContext?
    /// The close handshake and flow control. The channel's writability is kept here by ``WebSocketChannelHandler``:
    /// reading a flag of this object is cheaper on the broadcast path than asking the channel (another object, an
    /// atomic load).
    ///
    /// `@exclusivity(unchecked)`: every access is on the event loop and ends before anything is called with the
    /// machine's answer (a value type without callbacks), so no two accesses can overlap; the runtime check cost
    /// a broadcast ~80 instructions per recipient (`swift_beginAccess` in ``writeOnLoop(_:)``, issue 18's fan-out).
    @exclusivity(unchecked) private var state: WebSocketStateMachine
    /// The flush batch of this connection's event-loop thread, once it asked for a flush.
    private var flushBatch: FlushBatch?
    private var flushScheduled = false
    /// Closes the connection when the peer does not finish the close handshake in time.
    private var closeTimer: LoopTimers.Timer?
    /// Closes the connection when the client does not drain its queued frames in time.
    private var writeTimer: LoopTimers.Timer?
    /// The code of the peer's close frame, reported to the delegate when the connection closes.
    private var peerCloseCode: WebSocketCloseCode?
    /// The connection's event loop.
    public let eventLoop: any EventLoop
    /// The client's address.
    public let remoteAddress: SocketAddress?
    let channel: any Channel
    let configuration: WebSocketConfiguration
    private var streamContinuation: AsyncStream<WebSocketMessage>.Continuation?
    private var stream: AsyncStream<WebSocketMessage>?

    /// Receives messages on the event loop; set it in the `onUpgrade` callback.
    public var delegate: (any WebSocketDelegate)? {
        get { _delegate.get(on: eventLoop) }
        set { _delegate.set(newValue, on: eventLoop) }
    }
    var _delegate = LoopConfined<(any WebSocketDelegate)?>(nil)

    init(channel: any Channel, configuration: WebSocketConfiguration) {
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.eventLoopID = ObjectIdentifier(channel.eventLoop)
        self.remoteAddress = channel.remoteAddress
        self.configuration = configuration
        self.state = WebSocketStateMachine(configuration)
    }

    /// Whether the connection can still send.
    public var isOpen: Bool { channel.isActive && state.isOpen }

    // MARK: Sending

    /// Sends a message and flushes.
    public func send(_ message: WebSocketMessage) {
        write(message, flush: true)
    }

    /// Sends a text message made of `buffer` (already UTF-8) and flushes.
    public func send(text buffer: ByteBuffer) { write(.text(buffer), flush: true) }

    /// Sends a binary message and flushes.
    public func send(binary buffer: ByteBuffer) { write(.binary(buffer), flush: true) }

    /// Queues a message without flushing; pair with ``flush()`` or ``scheduleFlush()`` to batch writes.
    public func write(_ message: WebSocketMessage, flush: Bool = false) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.write(message, flush: flush) }
            return
        }
        guard channel.isActive, admitsWrite() else { return }
        // the header in a buffer of its own and the payload as it is: no copy of the payload (one writev)
        let (opcode, payload): (UInt8, ByteBuffer) =
            switch message {
            case .text(let buffer): (0x1, buffer)
            case .binary(let buffer): (0x2, buffer)
            }
        channel.write(WebSocketEncodedFrame.header(opcode: opcode, length: payload.readableBytes), promise: nil)
        if flush {
            channel.writeAndFlush(payload, promise: nil)
        } else {
            channel.write(payload, promise: nil)
        }
    }

    /// Queues a frame encoded once for many connections; pair with ``scheduleFlush()``.
    ///
    /// The cheapest way to send one message to many clients: no per-connection encoding or allocation.
    public func write(_ frame: WebSocketEncodedFrame) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.write(frame) }
            return
        }
        writeOnLoop(frame)
    }

    /// ``write(_:)-(WebSocketEncodedFrame)`` for a caller that runs on ``eventLoop`` already (a broadcast that
    /// grouped its recipients by loop): no thread check per recipient.
    ///
    /// Call it on ``eventLoop`` only (checked in debug builds); pair with ``scheduleFlushOnLoop()``.
    public func writeOnLoop(_ frame: WebSocketEncodedFrame) {
        eventLoop.assertInEventLoop()
        guard let context = writerContext, admitsWrite() else { return }
        context.write(NIOAny(frame.bytes), promise: nil)
    }

    /// Whether a message may be written now (open, and the outbound queue has room); when the queue is full,
    /// applies the ``SlowConsumerPolicy``.
    @inline(__always)
    private func admitsWrite() -> Bool {
        switch state.admitWrite() {
        case .write:
            return true
        case .drop:
            if state.isOpen { configuration.slowConsumers?.recordDrop() }  // behind, under the drop policy
            return false
        case .closeSlowConsumer:
            configuration.slowConsumers?.recordDisconnect()
            close(code: .policyViolation)
            return false
        }
    }

    /// Flushes queued messages now.
    public func flush() {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.flush() }
            return
        }
        channel.flush()
    }

    /// Flushes queued messages at the end of the current event-loop tick, once however many calls are made:
    /// many writes in one tick leave in one system call.
    public func scheduleFlush() {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.scheduleFlush() }
            return
        }
        scheduleFlushOnLoop()
    }

    /// ``scheduleFlush()`` for a caller that runs on ``eventLoop`` already; call it there only (checked in debug
    /// builds).
    public func scheduleFlushOnLoop() {
        eventLoop.assertInEventLoop()
        guard !flushScheduled else { return }
        flushScheduled = true
        if let flushBatch {
            flushBatch.add(self, on: eventLoop)
        } else {
            let batch = Self.flushBatches.currentValue  // a thread-local lookup, once per connection
            flushBatch = batch
            batch.add(self, on: eventLoop)
        }
    }

    /// Flushes from the pre-encoded frame writer, next to the head of the pipeline: every frame, pre-encoded or
    /// not, is queued there already, so the handlers behind it need not see the flush.
    func flushNow() {
        flushScheduled = false
        if let context = writerContext { context.flush() } else { channel.flush() }
    }

    /// The flush batch of each event-loop thread.
    private static let flushBatches = PerThread<FlushBatch> { FlushBatch() }

    /// Sends a close frame with `code` and closes the connection.
    public func close(code: WebSocketCloseCode = .normalClosure) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.close(code: code) }
            return
        }
        // RFC 6455 7.1.1: the server closes TCP once the peer answered with its close frame; a peer that never
        // answers keeps the connection no longer than the close timeout.
        guard case .sendClose(let code) = state.close(code: code) else { return }
        sendCloseFrame(code: code).whenFailure { [channel] _ in channel.close(promise: nil) }
    }

    /// Sends a close frame after a frame header the channel handler refused, then half-closes: the handler reads
    /// nothing more (not even the peer's close frame), so the FIN tells the peer we are done, the bytes it still
    /// sends are read and dropped, and its own close ends the connection. Closing at once instead would leave
    /// unread bytes, which makes the kernel send a reset that can destroy the close frame before the peer reads it.
    func closeAfterUnreadableInput(code: WebSocketCloseCode) {
        guard case .sendClose(let code) = state.close(code: code) else { return }
        sendCloseFrame(code: code).whenComplete { [channel] result in
            guard case .success = result else { return channel.close(promise: nil) }
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
        }
    }

    /// The peer's close frame arrived (called by the channel handler).
    func receivedClose(code: WebSocketCloseCode?) {
        peerCloseCode = code
        switch state.receivedClose(code: code) {
        case .none:
            break
        case .closeConnection:
            channel.close(promise: nil)
        case .answerThenClose(let code):
            sendCloseFrame(code: code).whenComplete { [channel] _ in channel.close(promise: nil) }
        }
    }

    /// Writes a close frame with `code` and starts the close timer.
    private func sendCloseFrame(code: WebSocketCloseCode) -> EventLoopFuture<Void> {
        guard channel.isActive else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        closeTimer = LoopTimers.on(eventLoop).schedule(in: TimeAmount(configuration.closeTimeout)) { [weak self] in
            guard let self else { return }
            self.closeTimer = nil
            if self.state.closeTimerFired() { self.channel.close(promise: nil) }
        }
        var data = channel.allocator.buffer(capacity: 2)
        data.writeInteger(code.rawValue)
        return channel.writeAndFlush(WebSocketEncodedFrame(control: .connectionClose, payload: data).bytes)
    }

    /// Closes the TCP connection without a close frame (for tests of abrupt disconnects and for broken peers).
    public func abort() {
        channel.close(promise: nil)
    }

    // MARK: Async messages

    /// The messages of this connection as an async sequence, for handlers written with async/await.
    ///
    /// Available when the connection was accepted with ``Response/webSocket(headers:configuration:handler:)``.
    public var messages: AsyncStream<WebSocketMessage> {
        stream ?? AsyncStream { $0.finish() }
    }

    func startMessageStream() {
        // Bounded: a handler that stops consuming loses the connection rather than growing memory.
        let (stream, continuation) = AsyncStream.makeStream(
            of: WebSocketMessage.self,
            bufferingPolicy: .bufferingOldest(1024)
        )
        self.stream = stream
        self.streamContinuation = continuation
    }

    // MARK: Events from the channel handler

    func received(_ message: WebSocketMessage) {
        if let delegate = _delegate.unchecked {
            delegate.webSocket(self, didReceive: message)
        } else if let streamContinuation {
            if case .dropped = streamContinuation.yield(message) {
                close(code: .policyViolation)
            }
        }
    }

    /// The connection closed (called by the channel handler).
    func closed() {
        state.closed()
        closeTimer?.cancel()
        closeTimer = nil
        writeTimer?.cancel()
        writeTimer = nil
        writerContext = nil
        streamContinuation?.finish()
        streamContinuation = nil
        let delegate = _delegate.unchecked
        _delegate.unchecked = nil
        delegate?.webSocketDidClose(self, code: peerCloseCode)
    }

    func quiesce() {
        if let delegate = _delegate.unchecked {
            delegate.webSocketShouldQuiesce(self)
        } else {
            close(code: .goingAway)
        }
    }

    /// Whether a ping may be answered with a pong now.
    var answersPing: Bool { state.answersPing }

    // MARK: Flow control

    /// The channel asks to read (called by ``EncodedFrameWriter``): `true` to read now, `false` while the client is
    /// behind on the frames we queued for it.
    func readRequested() -> Bool { state.readRequested() }

    /// Called by the channel handler when the channel's writability changes: a client that falls behind is read no
    /// more, charged ``WebSocketConfiguration/maxBufferedBytes`` to the memory budget (1013 when it refuses) and
    /// closed if it does not drain in time; one that catches up is read again.
    func writabilityChanged(_ isWritable: Bool) {
        switch state.writabilityChanged(isWritable) {
        case .none:
            break
        case .startWriteTimer:
            writeTimer = LoopTimers.on(eventLoop).schedule(in: TimeAmount(configuration.writeTimeout)) { [weak self] in
                guard let self else { return }
                self.writeTimer = nil
                // The client has not drained its frames in time: a close frame would wait behind them, so close TCP.
                if self.state.writeTimerFired() { self.channel.close(promise: nil) }
            }
        case .closeOverBudget:
            close(code: .tryAgainLater)
        case .resume(let read):
            if read {
                if let writerContext { writerContext.read() } else { channel.read() }
            }
        }
    }
}
