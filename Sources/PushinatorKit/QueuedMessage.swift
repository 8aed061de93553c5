/// A message waiting in the ``OfflineQueue``.
public struct QueuedMessage: Sendable, Equatable {
    /// Its place in the global order (and its key in a durable store).
    public var sequence: Int64
    /// The user it waits for.
    public var userID: String
    /// When it was queued, in milliseconds since 1970 (wall clock, so the ttl holds across restarts).
    public var enqueuedAt: Int64
    /// The message as JSON text.
    public var message: String

    /// Creates a queued message.
    public init(sequence: Int64, userID: String, enqueuedAt: Int64, message: String) {
        self.sequence = sequence
        self.userID = userID
        self.enqueuedAt = enqueuedAt
        self.message = message
    }

    /// What it counts against the byte limit.
    public var byteCount: Int { message.utf8.count }
}
