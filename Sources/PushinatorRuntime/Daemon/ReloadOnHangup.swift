public import ServiceLifecycle
import UnixSignals

/// A `Service` that calls `reload` every time the process receives SIGHUP (`kill -HUP`, `force-reload`), until
/// graceful shutdown. Connections are untouched: the reload only swaps settings.
public struct ReloadOnHangup: Service, CustomStringConvertible {
    let reload: @Sendable () -> Void

    /// Creates the service.
    public init(reload: @escaping @Sendable () -> Void) { self.reload = reload }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in await UnixSignalsSequence(trapping: .sighup) { reload() }
        }
    }

    public var description: String { "ReloadOnHangup" }
}
