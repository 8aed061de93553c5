public import ServiceLifecycle

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
