public import Logging
public import ServiceLifecycle
import Synchronization

/// A `Service` that forgets users idle longer than a timeout and removes expired offline messages, every few seconds.
public struct UserExpiry: Service, CustomStringConvertible {
    let users: UserRegistry
    let timeout: @Sendable () -> Duration?
    let onExpired: @Sendable ([String]) -> Void
    let onFailure: @Sendable (UserStoreError) -> Void

    /// Creates the service.
    /// - Parameters:
    ///   - users: The registry to sweep.
    ///   - timeout: The current idle timeout, `nil` for none (read at every sweep, so reloads apply).
    ///   - onExpired: Told which users were forgotten (for the log).
    ///   - onFailure: Told when the store could not forget them (for the log; retried at the next sweep).
    public init(
        users: UserRegistry,
        timeout: @escaping @Sendable () -> Duration?,
        onExpired: @escaping @Sendable ([String]) -> Void = { _ in },
        onFailure: @escaping @Sendable (UserStoreError) -> Void = { _ in }
    ) {
        self.users = users
        self.timeout = timeout
        self.onExpired = onExpired
        self.onFailure = onFailure
    }

    /// Creates the service for `app`: its registry, the running `users.idleTimeout` (0: none), and its outcomes
    /// logged to `logger`.
    public init(app: PushApp, logger: Logger) {
        self.init(
            users: app.users,
            timeout: { app.settings.withLock { $0.usersIdleTimeout > 0 ? .seconds($0.usersIdleTimeout) : nil } },
            onExpired: { logger.info("idle users expired", metadata: ["push.users": "\($0.count)"]) },
            onFailure: { logger.error("idle users not expired: user store write failed", metadata: ["error.message": "\($0.message)"]) }
        )
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                users.store.expireQueued(now: WallClock.milliseconds())
                guard let timeout = timeout() else { continue }
                do throws(UserStoreError) {
                    let expired = try await users.expireIdle(after: timeout)
                    if !expired.isEmpty { onExpired(expired) }
                } catch {
                    onFailure(error)
                }
            }
        }
    }

    public var description: String { "UserExpiry" }
}
