import NIOConcurrencyHelpers
import NIOCore

/// The open connections of a server, for limits and for shutdown.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var perAddress: [String: Int] = [:]
        var closedWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Why a connection was not registered.
    enum Refusal: Sendable {
        /// ``HTTPServerConfiguration/maxConnections`` (or the open-file limit) is reached.
        case serverFull
        /// The client's address holds ``HTTPServerConfiguration/maxConnectionsPerAddress`` connections already.
        case addressFull(String)
    }

    private let state = NIOLockedValueBox(State())
    private let maxConnections: Int
    private let maxPerAddress: Int?
    /// Read only for an address at its limit, so it may change while the server runs (a configuration reload).
    private let exempt: NIOLockedValueBox<[AddressRange]>

    /// - Parameters:
    ///   - maxConnections: the most connections in all.
    ///   - maxPerAddress: the most connections from one IP address; `nil` or 0 for no limit.
    ///   - exempt: addresses the per-address limit does not apply to.
    init(maxConnections: Int, maxPerAddress: Int?, exempt: [AddressRange] = []) {
        self.maxConnections = maxConnections
        self.maxPerAddress = maxPerAddress.flatMap { $0 > 0 ? $0 : nil }
        self.exempt = NIOLockedValueBox(exempt)
    }

    /// The addresses the per-address limit does not apply to, from now on (connections open stay open).
    var exemptions: [AddressRange] {
        get { exempt.withLockedValue { $0 } }
        set { exempt.withLockedValue { $0 = newValue } }
    }

    /// Registers `channel`, or returns why not when a limit is reached.
    func add(_ channel: any Channel) -> Refusal? {
        let address = channel.remoteAddress?.ipAddress
        var checkedExemption = false
        while true {
            let outcome = state.withLockedValue { state -> Refusal?? in
                guard state.channels.count < maxConnections else { return .some(.serverFull) }
                if let address, let maxPerAddress, !checkedExemption,
                    state.perAddress[address, default: 0] >= maxPerAddress
                {
                    return nil  // check the exemptions outside the lock, then come back
                }
                state.channels[ObjectIdentifier(channel)] = channel
                if let address { state.perAddress[address, default: 0] += 1 }
                return .some(nil)
            }
            switch outcome {
            case .some(.some(let refusal)):
                return refusal
            case .some(.none):
                channel.closeFuture.whenComplete { _ in self.remove(channel, address: address) }
                return nil
            case .none:
                // Only an address at its limit pays for the exemption check.
                guard let address, exemptions.containsAddress(address) else { return .addressFull(address ?? "?") }
                checkedExemption = true
            }
        }
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
