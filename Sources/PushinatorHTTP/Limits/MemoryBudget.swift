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
/// same byte count.
public final class MemoryBudget: Sendable {
    /// The budget shared by the whole process, unlimited until the application sets a limit with
    /// ``setLimit(_:)`` (typically once, from its configuration, before it serves).
    public static let shared = MemoryBudget(limit: nil)

    private let used = Atomic<Int>(0)
    private let refusals = Atomic<Int>(0)
    private let maximum: Atomic<Int>

    /// Creates a budget.
    /// - Parameter limit: the most bytes that may be reserved at once; `nil` (or a negative value) means no limit.
    public init(limit: Int?) {
        maximum = Atomic(Self.stored(limit))
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

    /// Reserves `bytes` if they fit under the limit.
    /// - Parameter bytes: the number of bytes to reserve (zero or negative always succeeds and reserves nothing).
    /// - Returns: `true` when the bytes are reserved (pair it with ``release(_:)``), `false` when the reservation
    ///   would pass the limit (nothing is reserved and the refusal is counted).
    public func tryReserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        let limit = maximum.load(ordering: .relaxed)
        let (_, after) = used.wrappingAdd(bytes, ordering: .relaxed)
        // Compare in a way that cannot overflow when the limit is `.max`.
        if after <= limit && after >= bytes { return true }
        used.wrappingSubtract(bytes, ordering: .relaxed)
        refusals.wrappingAdd(1, ordering: .relaxed)
        return false
    }

    /// Gives back bytes reserved with ``tryReserve(_:)``.
    /// - Parameter bytes: the number of bytes to release, the same count that was reserved.
    public func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.wrappingSubtract(bytes, ordering: .relaxed)
    }
}
