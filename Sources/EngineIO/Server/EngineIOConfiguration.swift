public import PushinatorHTTP

/// Settings of an ``EngineIOServer``.
///
/// The handshake advertises `pingInterval`, `pingTimeout` and `maxPayload` exactly as set here.
public struct EngineIOConfiguration: Sendable {
    /// How often the server pings each client. Default 25 s.
    public var pingInterval: Duration
    /// How long the server waits for the pong before closing the session. Default 20 s.
    public var pingTimeout: Duration
    /// The largest polling request body / WebSocket message accepted, in bytes. Default 1 000 000.
    public var maxPayload: Int
    /// How long a polling session may take to finish a WebSocket upgrade once probed. Default 10 s.
    public var upgradeTimeout: Duration
    /// The transports clients may use, in order of preference. Default polling and websocket.
    public var transports: [EngineIOTransport]
    /// Accept Engine.IO v3 clients (socket.io 2.x). Off by default.
    public var allowEIO3: Bool
    /// The most bytes queued for one client; past it the session is closed. Default 4 MiB.
    public var maxBufferedBytes: Int
    /// The most packets in one polling response. Default 16, the most the python-engineio client decodes.
    public var maxPacketsPerPoll: Int
    /// A cookie sent with the handshake (for sticky load balancing), or `nil` for none.
    public var cookie: EngineIOCookie?
    /// The process-wide budget that polling request bodies are charged to while they are decoded (a refusal answers
    /// 503 with `{"code":3,"message":"Server busy..."}`), and that the WebSocket transport charges (see
    /// ``WebSocketConfiguration/memoryBudget``). Default ``MemoryBudget/shared``.
    public var memoryBudget: MemoryBudget
    /// A WebSocket client still behind (more than ``maxBufferedBytes`` queued) this long after it fell behind is
    /// closed (``WebSocketConfiguration/writeTimeout``). Default 30 s.
    public var webSocketWriteTimeout: Duration
    /// How long a WebSocket peer has to answer the server's close frame (or to read the answer to its own) before
    /// the connection is closed without waiting further (``WebSocketConfiguration/closeTimeout``). Default 3 s.
    public var webSocketCloseTimeout: Duration
    /// Decides whether a handshake may proceed (for example by `Origin` or address); `nil` allows all.
    public var allowRequest: (@Sendable (Request, RequestContext) async -> EngineIORequestDecision)?

    /// Creates a configuration with Socket.IO's defaults.
    public init(
        pingInterval: Duration = .seconds(25),
        pingTimeout: Duration = .seconds(20),
        maxPayload: Int = 1_000_000,
        upgradeTimeout: Duration = .seconds(10),
        transports: [EngineIOTransport] = [.polling, .websocket],
        allowEIO3: Bool = false,
        maxBufferedBytes: Int = 4 << 20,
        maxPacketsPerPoll: Int = 16,
        cookie: EngineIOCookie? = nil,
        allowRequest: (@Sendable (Request, RequestContext) async -> EngineIORequestDecision)? = nil,
        memoryBudget: MemoryBudget = .shared,
        webSocketWriteTimeout: Duration = .seconds(30),
        webSocketCloseTimeout: Duration = .seconds(3)
    ) {
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
        self.upgradeTimeout = upgradeTimeout
        self.transports = transports
        self.allowEIO3 = allowEIO3
        self.maxBufferedBytes = maxBufferedBytes
        self.maxPacketsPerPoll = max(1, maxPacketsPerPoll)
        self.cookie = cookie
        self.allowRequest = allowRequest
        self.memoryBudget = memoryBudget
        self.webSocketWriteTimeout = webSocketWriteTimeout
        self.webSocketCloseTimeout = webSocketCloseTimeout
    }
}
