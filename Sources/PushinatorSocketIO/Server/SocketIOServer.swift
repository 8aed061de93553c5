public import EngineIO
public import Logging
public import PushinatorHTTP
public import PushinatorJSON
public import ServiceLifecycle
import NIOCore
import Synchronization

/// A Socket.IO v5 server on top of Engine.IO, mounted on a router and run as a `Service`.
///
/// ```swift
/// let io = SocketIOServer(configuration: .init(pingInterval: .seconds(25), pingTimeout: .seconds(20)), logger: logger)
/// io.namespace("/chat") { chat in
///     chat.on("message") { socket, event in chat.emit("message", event.arguments) }
/// }
/// let router = Router { io.routes(at: "socket.io", middleware: [CORSMiddleware(allowedOrigin: .any)]) }
/// let http = HTTPServer(responder: router, listeners: [Listener(.hostname("0.0.0.0", port: 3000))], logger: logger)
/// try await ServiceGroup(services: [http, io], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
///
/// On graceful shutdown every client is told to go away (Engine.IO close and WebSocket 1001), so that official
/// clients reconnect, to another instance if there is one.
public final class SocketIOServer: Service, EngineIOServerDelegate, Sendable {
    /// The configuration.
    public let configuration: SocketIOConfiguration
    /// The Engine.IO server underneath.
    public let engine: EngineIOServer
    let logger: Logger
    /// What the unfinished binary packets of all connections may hold together.
    let partialBinaryBudget: PartialBinaryBudget
    /// The settings of every connection's state machine (Engine.IO v4, v3), derived from ``configuration`` once
    /// rather than per connect.
    let connectionConfiguration: (v4: SocketIOConnectionStateMachine<Socket>.Configuration, v3: SocketIOConnectionStateMachine<Socket>.Configuration)
    private let makeAdapter: @Sendable (AdapterContext) -> any SocketIOAdapter
    private let registry = Mutex(Registry())

    private struct Registry {
        var namespaces: [String: Namespace] = [:]
        var dynamic: [(matches: @Sendable (String, JSONValue) -> Bool, configure: @Sendable (Namespace) -> Void)] = []
    }

    /// Creates a server; the main namespace `/` exists from the start.
    /// - Parameters:
    ///   - configuration: Socket.IO and Engine.IO settings.
    ///   - adapter: Makes the adapter of each namespace (sockets, rooms, broadcasts, and the session store when
    ///     connection state recovery is on); in memory by default.
    ///   - logger: The logger.
    public init(
        configuration: SocketIOConfiguration = .init(),
        adapter: @escaping @Sendable (AdapterContext) -> any SocketIOAdapter = { InMemoryAdapter(context: $0) },
        logger: Logger
    ) {
        self.configuration = configuration
        self.engine = EngineIOServer(configuration: configuration.engine, logger: logger)
        self.logger = logger
        self.partialBinaryBudget = PartialBinaryBudget(
            limit: configuration.maxPendingBinaryBytesTotal,
            process: configuration.memoryBudget
        )
        self.makeAdapter = adapter
        let connection = SocketIOConnectionStateMachine<Socket>.Configuration(
            isLegacyProtocol: false,
            connectTimeout: TimeAmount(configuration.connectTimeout),
            decoder: .init(
                maxAttachments: configuration.maxAttachments,
                maxPendingAttachmentBytes: configuration.maxPendingBinaryBytes
            ),
            binaryReassemblyTimeout: TimeAmount(configuration.binaryAttachmentTimeout)
        )
        var legacy = connection
        legacy.isLegacyProtocol = true
        self.connectionConfiguration = (connection, legacy)
        engine.delegate = self
        _ = of("/")
    }

    // MARK: Namespaces

    /// The namespace called `name`, created if needed.
    public func of(_ name: String) -> Namespace {
        let name = name.hasPrefix("/") ? name : "/" + name
        return registry.withLock { registry in
            if let existing = registry.namespaces[name] { return existing }
            let created = Namespace(name: name, configuration: configuration, makeAdapter: makeAdapter, logger: logger)
            registry.namespaces[name] = created
            return created
        }
    }

    /// Configures the namespace called `name`.
    @discardableResult
    public func namespace(_ name: String, configure: (Namespace) -> Void) -> Namespace {
        let namespace = of(name)
        configure(namespace)
        return namespace
    }

    /// Accepts connections to namespaces that do not exist yet when `matches` says so; each new namespace is
    /// created and passed to `configure` once.
    ///
    /// ```swift
    /// io.namespaces(matching: { name, _ in name.hasPrefix("/workspace-") }) { workspace in
    ///     workspace.on("message") { socket, event in workspace.emit("message", event.arguments) }
    /// }
    /// ```
    public func namespaces(
        matching matches: @escaping @Sendable (_ name: String, _ auth: JSONValue) -> Bool,
        configure: @escaping @Sendable (Namespace) -> Void
    ) {
        registry.withLock { $0.dynamic.append((matches, configure)) }
    }

    /// The namespace a client may connect to, creating a dynamic one if a predicate accepts the name.
    func namespace(forConnectionTo name: String, auth: JSONValue) -> Namespace? {
        let (existing, configure) = registry.withLock { registry -> (Namespace?, (@Sendable (Namespace) -> Void)?) in
            if let existing = registry.namespaces[name] { return (existing, nil) }
            for entry in registry.dynamic where entry.matches(name, auth) {
                let created = Namespace(name: name, configuration: configuration, makeAdapter: makeAdapter, logger: logger)
                registry.namespaces[name] = created
                return (created, entry.configure)
            }
            return (nil, nil)
        }
        if let existing, let configure { configure(existing) }
        return existing
    }

    /// The names of the namespaces.
    public var namespaceNames: [String] { registry.withLock { Array($0.namespaces.keys).sorted() } }

    /// What the session stores of all namespaces hold and dropped; zero while connection state recovery is off.
    public var recoveryStatistics: SessionStoreStatistics {
        registry.withLock { Array($0.namespaces.values) }.reduce(SessionStoreStatistics()) {
            $0 + ($1.recoveryStatistics ?? SessionStoreStatistics())
        }
    }

    /// Sends `event` to every socket of the main namespace.
    @discardableResult
    public func emit(_ event: String, _ arguments: [JSONValue]) -> Int { of("/").emit(event, arguments) }

    // MARK: Mounting

    /// The routes that serve Socket.IO at `path` (polling GET/POST and WebSocket upgrades).
    /// - Parameters:
    ///   - path: The path, `socket.io` by default (what the official clients use).
    ///   - middleware: Middleware for these routes only, for example CORS for pages on another origin.
    public func routes(at path: String = "socket.io", middleware: [any Middleware] = []) -> RouteGroup {
        let engine = self.engine
        return RouteGroup(path) {
            for step in middleware { RouteElement.middleware(step) }
            Mount("", responder: engine)
        }
    }

    // MARK: Service

    /// Waits for graceful shutdown, then tells every client to go away.
    public func run() async throws {
        try? await gracefulShutdown()
        logger.info("closing socket.io sessions", metadata: ["sio.sessions": "\(engine.sessionCount)"])
        engine.closeAllSessions(reason: .serverShuttingDown)
    }

    // MARK: EngineIOServerDelegate

    public func engineIO(_ server: EngineIOServer, didOpen session: EngineIOSession, request: Request, context: RequestContext) {
        let connection = SocketIOConnection(session: session, server: self, logger: logger)
        session.delegate = connection
        connection.start()
    }
}
