public import PushinatorJSON
import Synchronization

/// The handlers of events that other servers of a cluster send to a namespace (socket.io's
/// `io.on(event)` for `io.serverSideEmit`), shared by the namespace (which registers them) and its adapter (which
/// runs them when such an event arrives).
///
/// ```swift
/// io.of("/").onServerSideEmit("ping") { arguments in "pong" }        // the answer the sender collects
/// let answers = await io.of("/").serverSideEmit("ping", [])           // one answer per other server
/// ```
public final class ServerSideEvents: Sendable {
    /// Handles one event; returns the answer, or `nil` to answer nothing.
    public typealias Handler = @Sendable (_ arguments: [JSONValue]) async -> JSONValue?

    private let handlers = Mutex<[String: Handler]>([:])

    /// Creates an empty set of handlers.
    public init() {}

    /// Handles `event` with `handler` (replacing an earlier handler of the same event).
    public func on(_ event: String, _ handler: @escaping Handler) {
        handlers.withLock { $0[event] = handler }
    }

    /// Runs the handler of `event`, when there is one.
    /// - Returns: Its answer; `nil` when there is no handler or it answered nothing.
    public func handle(_ event: String, _ arguments: [JSONValue]) async -> JSONValue? {
        guard let handler = handlers.withLock({ $0[event] }) else { return nil }
        return await handler(arguments)
    }
}
