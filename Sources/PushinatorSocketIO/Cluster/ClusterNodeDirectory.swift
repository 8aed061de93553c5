import PushinatorCluster
import Synchronization

/// The advertisements the other nodes sent in their heartbeats (``ClusterNodeAdvertisement``), by uid; at most
/// ``limit`` nodes (past it, the oldest entry makes room).
final class ClusterNodeDirectory: Sendable {
    /// The most nodes remembered.
    static let limit = 1_024

    private struct Entry {
        var node: ClusterNodeAdvertisement
        var order: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var counter = 0
        var local: ClusterNodeAdvertisement?
    }

    private let state = Mutex(State())

    /// Records what `uid` advertised; returns `true` when it is new or changed.
    @discardableResult
    func record(_ node: ClusterNodeAdvertisement, of uid: String) -> Bool {
        state.withLock { state in
            state.counter += 1
            let changed = state.entries[uid]?.node != node
            state.entries[uid] = Entry(node: node, order: state.counter)
            if state.entries.count > Self.limit, let oldest = state.entries.min(by: { $0.value.order < $1.value.order }) {
                state.entries[oldest.key] = nil
            }
            return changed
        }
    }

    /// What this node advertises.
    var local: ClusterNodeAdvertisement? {
        get { state.withLock { $0.local } }
        set { state.withLock { $0.local = newValue } }
    }

    /// Forgets `uid`.
    func remove(_ uid: String) {
        state.withLock { _ = $0.entries.removeValue(forKey: uid) }
    }

    /// Every node's advertisement, by uid.
    var nodes: [String: ClusterNodeAdvertisement] {
        state.withLock { $0.entries.mapValues(\.node) }
    }
}
