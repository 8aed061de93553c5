public import Logging
import Synchronization

/// A process-wide limit on the bytes that clients make the server hold.
///
/// Everything a client can make the server keep beyond one request (partial binary packets, recovery buffers,
/// offline queues, outbound queues) reserves its bytes here first and releases them when it lets go. When a
/// reservation would pass the limit it is refused, the refusal is counted for metrics, and the caller refuses
/// the client's input instead of holding it.
///
/// ```swift
/// let budget = MemoryBudget(limit: 256 << 20)
/// guard budget.tryReserve(frame.count) else { throw HTTPError(.payloadTooLarge, message: "server busy") }
/// defer { budget.release(frame.count) }
/// ```
///
/// One atomic add per reservation and per release: cheap enough to sit on a per-frame path. The budget does
/// not know who holds what; every `tryReserve` that returned `true` must be paired with one `release` of the
/// same byte count. Refusals are counted per ``Use`` (``refusals(for:)``, for metrics) and, when a logger is set
/// (``setLogger(_:)``), logged at warning level at most once per ``warningInterval`` (the others at debug level).
public final class MemoryBudget: Sendable {
    /// What a reservation holds bytes for: the label refusals are counted and logged under.
    public struct Use: Sendable, Hashable, CustomStringConvertible {
        /// The label, in snake case (a metric label value).
        public let name: String

        /// Creates a use; the toolkit's own are the static members.
        /// - Parameter name: a short snake-case label such as `offline_queue`.
        public init(_ name: String) { self.name = name }

        public var description: String { name }

        /// An HTTP request body being received (until its response is written).
        public static var httpRequestBody: Self { .init("http_body") }
        /// HTTP responses queued for a client that does not read them.
        public static var httpOutbound: Self { .init("http_outbound") }
        /// A WebSocket message being received (its fragments, until the last one is delivered).
        public static var webSocketMessage: Self { .init("websocket_message") }
        /// WebSocket frames queued for a client that does not read them.
        public static var webSocketOutbound: Self { .init("websocket_outbound") }
        /// An Engine.IO polling request body being decoded into packets.
        public static var pollingPayload: Self { .init("polling_payload") }
        /// Engine.IO packets queued for a polling client that has not fetched them.
        public static var pollingOutbound: Self { .init("polling_outbound") }
        /// The attachments of an unfinished Socket.IO binary packet.
        public static var binaryAttachments: Self { .init("binary_attachments") }
        /// What connection state recovery keeps for disconnected sessions (missed packets, session records).
        public static var recoveryBuffer: Self { .init("recovery_buffer") }
        /// Messages kept for registered users with no live connection (an offline queue).
        public static var offlineQueue: Self { .init("offline_queue") }
        /// Reservations that name no use.
        public static var other: Self { .init("other") }
    }

    /// How often a refusal is logged at warning level at most. 10 s.
    public static let warningInterval: Duration = .seconds(10)

    private struct RefusalLog {
        var byUse: [String: Int] = [:]
        var logger: Logger?
        var lastWarning: ContinuousClock.Instant?
        var sinceWarning = 0
    }

    /// The budget shared by the whole process, unlimited until the application sets a limit with
    /// ``setLimit(_:)`` (typically once, from its configuration, before it serves).
    public static let shared = MemoryBudget(limit: nil)

    private let used = Atomic<Int>(0)
    private let refusals = Atomic<Int>(0)
    private let maximum: Atomic<Int>
    private let refusalLog = Mutex(RefusalLog())

    /// Creates a budget.
    /// - Parameters:
    ///   - limit: the most bytes that may be reserved at once; `nil` (or a negative value) means no limit.
    ///   - logger: where refusals are logged (see ``setLogger(_:)``); `nil` logs nothing.
    public init(limit: Int?, logger: Logger? = nil) {
        maximum = Atomic(Self.stored(limit))
        refusalLog.withLock { $0.logger = logger }
    }

    private static func stored(_ limit: Int?) -> Int {
        guard let limit, limit >= 0 else { return .max }
        return limit
    }

    /// The most bytes that may be reserved at once, `nil` for no limit.
    public var limit: Int? {
        let value = maximum.load(ordering: .relaxed)
        return value == .max ? nil : value
    }

    /// Changes the limit; reservations already held are kept even if they now pass it.
    /// - Parameter limit: the new limit in bytes; `nil` (or a negative value) means no limit.
    public func setLimit(_ limit: Int?) {
        maximum.store(Self.stored(limit), ordering: .relaxed)
    }

    /// The bytes reserved now.
    public var reserved: Int { used.load(ordering: .relaxed) }

    /// How many reservations were refused since the budget was created (a counter for metrics).
    public var refusedCount: Int { refusals.load(ordering: .relaxed) }

    /// How many reservations for `use` were refused since the budget was created.
    public func refusals(for use: Use) -> Int { refusalLog.withLock { $0.byUse[use.name, default: 0] } }

    /// The refusals so far by ``Use/name`` (uses never refused are absent).
    public var refusalsByUse: [String: Int] { refusalLog.withLock { $0.byUse } }

    /// Logs refusals to `logger` from now on (`nil`: not at all): a warning at most once per
    /// ``warningInterval`` with the number refused since the last one, the others at debug level.
    public func setLogger(_ logger: Logger?) { refusalLog.withLock { $0.logger = logger } }

    /// Sets `logger` unless a logger is set already (a server hands its own to the budget it uses).
    public func setLoggerIfUnset(_ logger: Logger) {
        refusalLog.withLock { if $0.logger == nil { $0.logger = logger } }
    }

    /// Reserves `bytes` if they fit under the limit.
    /// - Parameters:
    ///   - bytes: the number of bytes to reserve (zero or negative always succeeds and reserves nothing).
    ///   - use: what the bytes are for: the label a refusal is counted and logged under.
    /// - Returns: `true` when the bytes are reserved (pair it with ``release(_:)``), `false` when the reservation
    ///   would pass the limit (nothing is reserved and the refusal is counted).
    public func tryReserve(_ bytes: Int, for use: Use = .other) -> Bool {
        guard bytes > 0 else { return true }
        let limit = maximum.load(ordering: .relaxed)
        let (_, after) = used.wrappingAdd(bytes, ordering: .relaxed)
        // Compare in a way that cannot overflow when the limit is `.max`.
        if after <= limit && after >= bytes { return true }
        used.wrappingSubtract(bytes, ordering: .relaxed)
        refusals.wrappingAdd(1, ordering: .relaxed)
        refused(bytes, for: use)
        return false
    }

    /// Counts a refusal under its use and logs it (cold path: a lock is fine here).
    private func refused(_ bytes: Int, for use: Use, now: ContinuousClock.Instant = .now) {
        let (logger, warnWith) = refusalLog.withLock { log -> (Logger?, Int?) in
            log.byUse[use.name, default: 0] += 1
            log.sinceWarning += 1
            guard log.logger != nil else { return (nil, nil) }
            if let last = log.lastWarning, now - last < Self.warningInterval { return (log.logger, nil) }
            log.lastWarning = now
            defer { log.sinceWarning = 0 }
            return (log.logger, log.sinceWarning)
        }
        guard let logger else { return }
        let metadata: Logger.Metadata = [
            "memory.use": "\(use.name)",
            "memory.bytes": "\(bytes)",
            "memory.held": "\(reserved)",
            "memory.limit": "\(limit.map { "\($0)" } ?? "none")",
        ]
        if let count = warnWith {
            var metadata = metadata
            metadata["memory.refused"] = "\(count)"
            logger.warning("memory budget spent: refusing what clients send until it frees up", metadata: metadata)
        } else {
            logger.debug("memory budget spent: refused", metadata: metadata)
        }
    }

    /// Gives back bytes reserved with ``tryReserve(_:)``.
    /// - Parameter bytes: the number of bytes to release, the same count that was reserved.
    public func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.wrappingSubtract(bytes, ordering: .relaxed)
    }
}
