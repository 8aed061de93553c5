import NIOConcurrencyHelpers
import NIOCore

/// The open connections of a server, for limits and for shutdown.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var perAddress: [String: Int] = [:]
        var closedWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())
    private let maxConnections: Int
    private let maxPerAddress: Int?

    init(maxConnections: Int, maxPerAddress: Int?) {
        self.maxConnections = maxConnections
        self.maxPerAddress = maxPerAddress
    }

    /// Registers `channel`, or returns `false` when a limit is reached.
    func add(_ channel: any Channel) -> Bool {
        let address = channel.remoteAddress?.ipAddress
        let added = state.withLockedValue { state -> Bool in
            guard state.channels.count < maxConnections else { return false }
            if let address, let maxPerAddress, state.perAddress[address, default: 0] >= maxPerAddress { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            if let address { state.perAddress[address, default: 0] += 1 }
            return true
        }
        guard added else { return false }
        channel.closeFuture.whenComplete { _ in self.remove(channel, address: address) }
        return true
    }

    private func remove(_ channel: any Channel, address: String?) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.channels[ObjectIdentifier(channel)] = nil
            if let address {
                state.perAddress[address, default: 1] -= 1
                if state.perAddress[address] == 0 { state.perAddress[address] = nil }
            }
            guard state.channels.isEmpty else { return [] }
            defer { state.closedWaiters = [] }
            return state.closedWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The number of open connections.
    var count: Int { state.withLockedValue { $0.channels.count } }

    /// Every open connection.
    var all: [any Channel] { state.withLockedValue { Array($0.channels.values) } }

    /// Returns once no connection is open.
    func waitUntilEmpty() async {
        await withCheckedContinuation { continuation in
            let empty = state.withLockedValue { state -> Bool in
                if state.channels.isEmpty { return true }
                state.closedWaiters.append(continuation)
                return false
            }
            if empty { continuation.resume() }
        }
    }
}
