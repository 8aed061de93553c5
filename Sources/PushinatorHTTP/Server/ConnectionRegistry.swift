import NIOConcurrencyHelpers
import NIOCore

/// The open connections of a server, for limits and for shutdown.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var perAddress: [AddressKey: Int] = [:]
        /// Addresses at their limit found exempt: checked once, not at every further connect (a benchmark or a
        /// proxy on an exempt address opens thousands). Emptied when the exemptions change; an address leaves
        /// when its last connection closes. At most `maxConnections / maxPerAddress` entries.
        var exemptAtLimit: Set<AddressKey> = []
        /// Bumped when the exemptions change: a check made against older ones is not remembered.
        var exemptionsGeneration = 0
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
        set {
            exempt.withLockedValue { $0 = newValue }
            state.withLockedValue { state in
                state.exemptAtLimit.removeAll()
                state.exemptionsGeneration &+= 1
            }
        }
    }

    /// Registers `channel`, or returns why not when a limit is reached.
    func add(_ channel: any Channel) -> Refusal? {
        // the address's bytes, not its text: inet_ntop, a String and its hash were a percent of a WebSocket connect
        let address = channel.remoteAddress.flatMap(AddressKey.init)
        var checkedExemption: Int?  // the exemptions' generation an exempt address was found in
        while true {
            let outcome = state.withLockedValue { state -> Refusal?? in
                guard state.channels.count < maxConnections else { return .some(.serverFull) }
                if let address, let maxPerAddress, state.perAddress[address, default: 0] >= maxPerAddress {
                    if let generation = checkedExemption {
                        if generation == state.exemptionsGeneration { state.exemptAtLimit.insert(address) }
                    } else if !state.exemptAtLimit.contains(address) {
                        return nil  // check the exemptions outside the lock, then come back
                    }
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
                // Only an address at its limit pays for the exemption check, once (exemptAtLimit).
                let generation = state.withLockedValue { $0.exemptionsGeneration }
                let text = channel.remoteAddress?.ipAddress
                guard let text, exemptions.containsAddress(text) else { return .addressFull(text ?? "?") }
                checkedExemption = generation
            }
        }
    }

    private func remove(_ channel: any Channel, address: AddressKey?) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.channels[ObjectIdentifier(channel)] = nil
            if let address {
                state.perAddress[address, default: 1] -= 1
                if state.perAddress[address] == 0 {
                    state.perAddress[address] = nil
                    state.exemptAtLimit.remove(address)
                }
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

/// A peer's IP address as a dictionary key: its bytes (IPv4 or IPv6; the port left out), no text.
struct AddressKey: Hashable, Sendable {
    private let high: UInt64
    private let low: UInt64
    private let isIPv6: Bool

    init?(_ address: SocketAddress) {
        // read at the fields' offsets in sockaddr_in (sin_addr at 4) and sockaddr_in6 (sin6_addr at 8), the same on
        // Linux and the BSDs
        switch address {
        case .v4(let v4):
            high = 0
            low = withUnsafeBytes(of: v4.address) { UInt64($0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) }
            isIPv6 = false
        case .v6(let v6):
            (high, low) = withUnsafeBytes(of: v6.address) { raw in
                (raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            }
            isIPv6 = true
        case .unixDomainSocket:
            return nil
        }
    }
}
