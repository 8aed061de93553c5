/// Limits and timeouts of an ``HTTPServer``.
public struct HTTPServerConfiguration: Sendable {
    /// The largest request body accepted; larger bodies get 413. Default 2 MiB.
    public var maxRequestBodySize: Int
    /// The largest total size of request header names and values; larger heads get 431. Default 16 KiB.
    public var maxHeaderSize: Int
    /// How long a client may take to send a complete request head, counted from the accept for the first request
    /// (a connection that never sends a byte holds no slot longer than this) and from the first byte for the next
    /// ones; then the connection is closed (slowloris protection). Default 10 s.
    public var requestHeadTimeout: Duration
    /// How long an idle keep-alive connection stays open, and the longest pause while a request body is being
    /// received (a body shorter than its `Content-Length` does not hold the connection forever). Default 60 s.
    public var idleTimeout: Duration
    /// How long graceful shutdown waits for in-flight requests before closing connections. Default 10 s.
    public var gracefulShutdownTimeout: Duration
    /// The listen backlog. Default 256.
    public var backlog: Int32
    /// The most simultaneous connections; further ones are closed on accept. Default 65 536. The server also keeps
    /// it under the process's open-file limit (minus an eighth of it, between 32 and 512, for everything else), so
    /// in practice `ulimit -n` is the bound unless this is set lower.
    public var maxConnections: Int
    /// The most simultaneous connections from one IP address; further ones are closed on accept, counted in
    /// ``HTTPServer/refusedConnections`` and logged at warning level (at most once a minute). Default 1000;
    /// `nil` or 0: no limit beyond `maxConnections`.
    public var maxConnectionsPerAddress: Int?
    /// Addresses and CIDR blocks that ``maxConnectionsPerAddress`` does not apply to: the reverse proxies in front
    /// of the server, through which every client arrives. Default: loopback (`127.0.0.0/8`, `::1`), where a proxy on
    /// the same host connects from.
    public var connectionLimitExemptions: [AddressRange]
    /// The most response bytes queued for a client before the connection stops reading its requests (a client
    /// that pipelines requests and never reads the answers holds at most this much, plus one read's worth of
    /// parsed requests); reading resumes when the queue is below half of it. Default 64 KiB (NIO's high-water mark).
    public var maxQueuedResponseBytes: Int
    /// The most requests of one connection dispatched before their answers are written: pipelined requests start
    /// in order while earlier answers are pending (an async route), run at the same time, and are answered strictly
    /// in request order (an answer ready early waits for those before it). At the limit the connection stops reading
    /// until an answer is written. Requests that cannot overlap others (WebSocket upgrades, CONNECT,
    /// `Connection: close`, `Expect: 100-continue`) wait until every answer before them is written. Default 16;
    /// 1 answers one request at a time.
    public var maxPipelinedRequests: Int
    /// Which pipelined requests may start while earlier answers are pending: by default only safe methods
    /// (`GET`, `HEAD`, `OPTIONS`, `TRACE`, as RFC 9112 9.3.2 allows); any other request waits until every answer
    /// before it is written, and nothing after it starts until its own is. See ``HTTPPipelineOverlap``.
    public var pipelineOverlap: HTTPPipelineOverlap
    /// How long responses may stay queued for a client that does not read them before the connection is closed.
    /// Default 30 s.
    public var writeTimeout: Duration
    /// The chunk framing (size lines, chunk extensions, trailers) a chunked request body may carry beyond 8 bytes
    /// per body byte; past it the request gets 400 and the connection closes (a 100 kB chunk extension, which the
    /// HTTP decoder would otherwise skip without limit). Default 16 KiB.
    public var maxChunkFramingBytes: Int
    /// Settings for WebSocket connections.
    public var webSocket: WebSocketConfiguration
    /// The `Server` header, or `nil` for none.
    public var serverName: String?
    /// The process-wide budget that request bodies being received are charged to (a refusal answers 503), and the
    /// responses queued for a client that stopped reading (``maxQueuedResponseBytes`` while it is behind; a
    /// refusal closes the connection). Default ``MemoryBudget/shared``.
    public var memoryBudget: MemoryBudget

    /// Creates a configuration; every parameter has a production default.
    public init(
        maxRequestBodySize: Int = 2 * 1024 * 1024,
        maxHeaderSize: Int = 16 * 1024,
        requestHeadTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60),
        gracefulShutdownTimeout: Duration = .seconds(10),
        backlog: Int32 = 256,
        maxConnections: Int = 65_536,
        maxConnectionsPerAddress: Int? = 1000,
        connectionLimitExemptions: [AddressRange] = AddressRange.loopback,
        maxQueuedResponseBytes: Int = 64 * 1024,
        writeTimeout: Duration = .seconds(30),
        maxPipelinedRequests: Int = 16,
        pipelineOverlap: HTTPPipelineOverlap = .safeMethods,
        maxChunkFramingBytes: Int = 16 * 1024,
        webSocket: WebSocketConfiguration = .init(),
        serverName: String? = nil,
        memoryBudget: MemoryBudget = .shared
    ) {
        self.maxRequestBodySize = maxRequestBodySize
        self.maxHeaderSize = maxHeaderSize
        self.requestHeadTimeout = requestHeadTimeout
        self.idleTimeout = idleTimeout
        self.gracefulShutdownTimeout = gracefulShutdownTimeout
        self.backlog = backlog
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.connectionLimitExemptions = connectionLimitExemptions
        self.maxQueuedResponseBytes = maxQueuedResponseBytes
        self.writeTimeout = writeTimeout
        self.maxPipelinedRequests = maxPipelinedRequests
        self.pipelineOverlap = pipelineOverlap
        self.maxChunkFramingBytes = maxChunkFramingBytes
        self.webSocket = webSocket
        self.serverName = serverName
        self.memoryBudget = memoryBudget
    }
}
