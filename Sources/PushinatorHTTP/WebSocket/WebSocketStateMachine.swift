/// The protocol state of one WebSocket connection, without I/O: the close handshake and output flow control.
///
/// ``WebSocketConnection`` owns it and carries out the action each call returns. The close handshake
/// (RFC 6455 7.1) is one value: open, then closing because we sent a close frame (waiting for the peer's, at most
/// ``WebSocketConfiguration/closeTimeout``) or because the peer sent one (ours, the echo, is going out), then closed.
/// Output flow control: while more than ``WebSocketConfiguration/maxBufferedBytes`` wait for the client (the
/// channel is not writable) writes follow the ``SlowConsumerPolicy``. Under `disconnect` the first write while
/// behind closes the connection (1008), so what the client sends is still read until then (a message that makes
/// the server answer ends the connection). Under `drop`, where writes are dropped silently, reads are held back
/// instead, so a client that sends requests without reading the answers cannot make the server work or grow its
/// memory; reading resumes when it drains. Under both, a client that has not drained within
/// ``WebSocketConfiguration/writeTimeout`` is closed. A client that falls behind holds
/// about `maxBufferedBytes` of frames: that much is charged to the ``WebSocketConfiguration/memoryBudget`` until it
/// catches up, and when the budget refuses, the connection is closed with 1013.
///
/// A `struct` of a few flags, mutated in place: the broadcast path reads it once per recipient.
struct WebSocketStateMachine {
    /// Where the close handshake stands.
    enum CloseState: Equatable {
        case open
        /// We sent our close frame and wait for the peer's.
        case closeSent
        /// The peer sent its close frame; our answer is going out, then the connection closes.
        case closeReceived
        /// The connection is closed.
        case closed
    }

    /// What to do when a close is asked for.
    enum CloseAction: Equatable {
        case none
        /// Write a close frame with this code and start the close timer.
        case sendClose(WebSocketCloseCode)
    }

    /// What to do with the peer's close frame.
    enum ReceivedCloseAction: Equatable {
        case none
        /// It answers ours: close the connection.
        case closeConnection
        /// It starts the handshake: answer with this code, start the close timer, close once the answer is written.
        case answerThenClose(WebSocketCloseCode)
    }

    /// What to do with a message the application writes.
    enum WriteAdmission: Equatable {
        case write
        /// Drop it (closing, or a slow client under the drop policy).
        case drop
        /// Drop it and close the connection with 1008 (a slow client under the disconnect policy).
        case closeSlowConsumer
    }

    /// What to do when the channel's writability changed.
    enum WritabilityAction: Equatable {
        case none
        /// Start the write timer: the client fell behind.
        case startWriteTimer
        /// The client drained below the low-water mark: read if a read was held back. The write timer keeps
        /// running: the kernel taking more bytes (its send buffer grows) is not proof that the client reads.
        case resume(read: Bool)
        /// The client fell behind and the memory budget has no room for what it holds: close with 1013.
        case closeOverBudget
    }

    private(set) var closeState = CloseState.open
    /// Whether the channel takes more writes (false while more than the high-water mark waits for the client).
    private(set) var writable = true
    private(set) var writeTimerArmed = false
    /// A `read` held back while the client is behind.
    private var readPending = false
    let slowConsumerPolicy: SlowConsumerPolicy
    let maxBufferedBytes: Int
    /// `maxBufferedBytes`, charged to the memory budget while the client is behind.
    private var outboundCharge: MemoryCharge

    init(slowConsumerPolicy: SlowConsumerPolicy, maxBufferedBytes: Int, memoryBudget: MemoryBudget) {
        self.slowConsumerPolicy = slowConsumerPolicy
        self.maxBufferedBytes = maxBufferedBytes
        self.outboundCharge = MemoryCharge(memoryBudget, for: .webSocketOutbound)
    }

    init(_ configuration: WebSocketConfiguration) {
        self.init(
            slowConsumerPolicy: configuration.slowConsumerPolicy,
            maxBufferedBytes: configuration.maxBufferedBytes,
            memoryBudget: configuration.memoryBudget
        )
    }

    /// The bytes charged to the memory budget now (for tests).
    var chargedBytes: Int { outboundCharge.bytes }

    /// Whether the application may still send (no close frame sent or received).
    var isOpen: Bool { closeState == .open }

    // MARK: Close handshake

    /// The application (or a protocol violation) asks to close with `code`.
    mutating func close(code: WebSocketCloseCode) -> CloseAction {
        guard closeState == .open else { return .none }
        closeState = .closeSent
        return .sendClose(code)
    }

    /// The peer's close frame arrived, carrying `code` (`nil` when it had none).
    mutating func receivedClose(code: WebSocketCloseCode?) -> ReceivedCloseAction {
        switch closeState {
        case .open:
            closeState = .closeReceived
            return .answerThenClose(code ?? .normalClosure)
        case .closeSent:
            return .closeConnection
        case .closeReceived, .closed:
            return .none
        }
    }

    /// The close timer fired: `true` to close the connection (the peer did not finish the handshake in time).
    mutating func closeTimerFired() -> Bool {
        switch closeState {
        case .closeSent, .closeReceived: return true
        case .open, .closed: return false
        }
    }

    /// The connection closed.
    mutating func closed() {
        closeState = .closed
        writeTimerArmed = false
        readPending = false
        outboundCharge.releaseAll()
    }

    // MARK: Flow control

    /// An application message is about to be written.
    @inline(__always)
    func admitWrite() -> WriteAdmission {
        guard closeState == .open else { return .drop }
        if writable { return .write }
        if case .disconnect = slowConsumerPolicy.kind { return .closeSlowConsumer }
        return .drop
    }

    /// Whether a ping may be answered: open, and the client is not behind (RFC 6455 5.5.3 allows answering only the
    /// most recent ping, so a peer that floods pings without reading the pongs does not grow our memory).
    var answersPing: Bool { closeState == .open && writable }

    /// The channel asks to read: `true` to read now, `false` when the read is held back until the client drains.
    mutating func readRequested() -> Bool {
        // Once closing, what arrives cannot add output: keep reading, for the peer's close frame. Under the
        // disconnect policy the next write while behind closes the connection: reading goes on until then.
        if writable || closeState != .open { return true }
        if case .disconnect = slowConsumerPolicy.kind { return true }
        readPending = true
        return false
    }

    /// The channel's writability changed.
    mutating func writabilityChanged(_ isWritable: Bool) -> WritabilityAction {
        writable = isWritable
        if isWritable {
            outboundCharge.releaseAll()
            defer { readPending = false }
            return .resume(read: readPending)
        }
        guard closeState != .closed else { return .none }
        if outboundCharge.bytes == 0, !outboundCharge.add(maxBufferedBytes) { return .closeOverBudget }
        guard !writeTimerArmed else { return .none }
        writeTimerArmed = true
        return .startWriteTimer
    }

    /// The write timer fired: `true` to close the connection, whose client is still behind one write timeout after
    /// it fell behind (writability flapping meanwhile does not restart the timeout).
    mutating func writeTimerFired() -> Bool {
        guard writeTimerArmed else { return false }
        writeTimerArmed = false
        return !writable && closeState != .closed
    }
}
