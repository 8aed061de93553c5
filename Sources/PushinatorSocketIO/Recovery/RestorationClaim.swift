import Synchronization

/// The sessions an adapter has taken out of its ``SessionStore`` for clients that come back, and not yet added
/// back as live sockets: while one is in transit, a broadcast nobody receives live must still be recorded (the
/// session is neither in the store nor in a room).
final class RestorationCount: Sendable {
    private let inTransit = Atomic<Int>(0)

    /// Whether no session is in transit.
    var isIdle: Bool { inTransit.load(ordering: .sequentiallyConsistent) == 0 }

    fileprivate func add(_ delta: Int) { inTransit.add(delta, ordering: .sequentiallyConsistent) }
}

/// One session in transit (see ``RestorationCount``): counted from before it is taken out of the store until
/// its socket is added to the adapter, or until the restoration is given up (the claim is released).
final class RestorationClaim: Sendable {
    private let count: RestorationCount
    private let settled = Atomic<Bool>(false)

    init(_ count: RestorationCount) {
        self.count = count
        count.add(1)
    }

    /// The socket is live in the adapter (or the restoration failed): the session is no longer in transit.
    func settle() {
        guard !settled.exchange(true, ordering: .sequentiallyConsistent) else { return }
        count.add(-1)
    }

    deinit { settle() }
}
