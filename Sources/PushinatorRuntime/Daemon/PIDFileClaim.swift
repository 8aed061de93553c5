public import ServiceLifecycle
import Synchronization

/// A `Service` that writes the daemon's pidfile once every server it waits for is listening.
///
/// ``DaemonController/start()`` reports success as soon as the pidfile names its child. A pidfile written before the
/// ports were bound made `start` say "started" for a daemon that then exited because a port was taken (whenever
/// `start` looked before the failure). With the claim in the service group, a server that cannot bind fails the group
/// before the pidfile exists, so `start` sees the child exit and reports the failure.
///
/// ```swift
/// let claim = PIDFileClaim(waitingFor: 2) { try controller.claimPIDFile() }
/// // each server's "listening" callback: claim.listening()
/// try await ServiceGroup(services: [admin, client, claim], logger: logger).run()
/// if claim.isClaimed { try? controller.configuration.pidFile.remove() }
/// ```
public final class PIDFileClaim: Service, Sendable, CustomStringConvertible {
    private let waitingFor: Int
    private let claim: @Sendable () throws -> Void
    private let ready: AsyncStream<Void>
    private let readySink: AsyncStream<Void>.Continuation
    private let claimed = Atomic(false)

    /// Creates the claim.
    /// - Parameters:
    ///   - count: How many servers must call ``listening()`` before the pidfile is written.
    ///   - claim: Writes the pidfile (``DaemonController/claimPIDFile()``); its error fails the service, and so the
    ///     service group.
    public init(waitingFor count: Int, claim: @escaping @Sendable () throws -> Void) {
        self.waitingFor = max(0, count)
        self.claim = claim
        (ready, readySink) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .unbounded)
    }

    /// Tells the claim that one more server listens (call it once per server, from its listening callback).
    public func listening() {
        readySink.yield()
    }

    /// Whether the pidfile was written (the caller removes it once the service group is over).
    public var isClaimed: Bool { claimed.load(ordering: .acquiring) }

    /// Waits for every server, writes the pidfile, then runs until graceful shutdown. Returns without writing it
    /// when cancelled first (the group stopped: a server failed to bind, or a signal came).
    public func run() async throws {
        var remaining = waitingFor
        if remaining > 0 {
            for await _ in ready {
                remaining -= 1
                if remaining == 0 { break }
            }
        }
        guard remaining == 0, !Task.isCancelled else { return }
        try claim()
        claimed.store(true, ordering: .releasing)
        // a service that returns would end the group: stay until it shuts down
        try? await gracefulShutdown()
    }

    public var description: String { "PIDFileClaim" }
}
