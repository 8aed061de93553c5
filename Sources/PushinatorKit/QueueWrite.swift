/// The result of ``UserStore/enqueue(_:for:now:)``: who got the message queued, and its durability.
public struct QueueWrite: Sendable {
    /// The users the message was queued for (registered, queue on, not over the byte limit alone).
    public let userIDs: [String]
    private let completion: WriteCompletion?

    /// A write that is durable already (or had nothing to write).
    public init(userIDs: [String]) {
        self.userIDs = userIDs
        self.completion = nil
    }

    /// A write that is durable when `completion` succeeds.
    public init(userIDs: [String], completion: WriteCompletion) {
        self.userIDs = userIDs
        self.completion = completion
    }

    /// Returns once the queued messages are durable; throws if they could not be stored.
    public func durable() async throws(UserStoreError) {
        try await completion?.wait()
    }
}
