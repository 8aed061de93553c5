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

/// A `Service` that forgets users idle longer than a timeout, checking every few seconds.
public struct UserExpiry: Service, CustomStringConvertible {
    let users: UserRegistry
    let timeout: @Sendable () -> Duration?
    let onExpired: @Sendable ([String]) -> Void

    /// Creates the service.
    /// - Parameters:
    ///   - users: The registry to sweep.
    ///   - timeout: The current idle timeout, `nil` for none (read at every sweep, so reloads apply).
    ///   - onExpired: Told which users were forgotten (for the log).
    public init(
        users: UserRegistry,
        timeout: @escaping @Sendable () -> Duration?,
        onExpired: @escaping @Sendable ([String]) -> Void = { _ in }
    ) {
        self.users = users
        self.timeout = timeout
        self.onExpired = onExpired
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                guard let timeout = timeout() else { continue }
                let expired = users.expireIdle(after: timeout)
                if !expired.isEmpty { onExpired(expired) }
            }
        }
    }

    public var description: String { "UserExpiry" }
}
