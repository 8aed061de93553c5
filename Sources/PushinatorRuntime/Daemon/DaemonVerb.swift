/// An init-script verb that ``DaemonController`` carries out: `start`, `stop`, `status`, `restart`,
/// `try-restart`, `force-reload` and `reload`.
///
/// ```swift
/// if let verb = DaemonVerb(CommandLine.arguments.dropFirst().first ?? "") {
///     let outcome = controller.perform(verb)
///     print(outcome.message)
///     exit(outcome.exitCode)
/// }
/// ```
public struct DaemonVerb: Sendable, Hashable, CustomStringConvertible {
    enum Kind: String, CaseIterable {
        case start, stop, status, restart
        case tryRestart = "try-restart"
        case forceReload = "force-reload"
        case reload
    }

    let kind: Kind

    private init(kind: Kind) { self.kind = kind }

    /// The verb spelled `name` on the command line, or `nil` when `name` is no verb.
    /// - Parameter name: A command-line word such as `start` or `try-restart`.
    public init?(_ name: String) {
        guard let kind = Kind(rawValue: name) else { return nil }
        self.kind = kind
    }

    /// Starts the daemon unless it runs.
    public static var start: Self { .init(kind: .start) }
    /// Stops the daemon: SIGTERM, then SIGKILL after a deadline.
    public static var stop: Self { .init(kind: .stop) }
    /// Reports whether the daemon runs, with LSB exit codes.
    public static var status: Self { .init(kind: .status) }
    /// Stops the daemon if it runs, then starts it.
    public static var restart: Self { .init(kind: .restart) }
    /// Restarts the daemon only if it runs.
    public static var tryRestart: Self { .init(kind: .tryRestart) }
    /// Sends the daemon SIGHUP so that it reloads what it can.
    public static var forceReload: Self { .init(kind: .forceReload) }
    /// The same as ``forceReload``.
    public static var reload: Self { .init(kind: .reload) }

    /// Every verb, in usage order.
    public static var all: [Self] { Kind.allCases.map { .init(kind: $0) } }

    /// The command-line spelling, such as `try-restart`.
    public var name: String { kind.rawValue }

    /// The command-line spelling.
    public var description: String { name }
}
