import Synchronization

/// Lets an acknowledgement be sent once, from any thread.
final class AckOnce: Sendable {
    private let claimed = Synchronization.Atomic<Bool>(false)
    func claim() -> Bool { claimed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged }
}
