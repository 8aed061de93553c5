public import Logging
import HTTPTypes
import NIOHTTPTypesHTTP1
public import NIOCore
import NIOHTTP1
public import NIOPosix
import NIOWebSocket
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An HTTP/1.1 server with WebSocket upgrades, run as a swift-service-lifecycle `Service`.
///
/// ```swift
/// let server = HTTPServer(responder: router, listeners: [Listener(.hostname("0.0.0.0", port: 8080))], logger: logger)
/// try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
///
/// Graceful shutdown stops accepting, lets in-flight requests finish (up to
/// ``HTTPServerConfiguration/gracefulShutdownTimeout``), closes idle keep-alive connections, asks WebSocket
/// connections to go away (1001), then closes whatever is left.
public final class HTTPServer: Service, Sendable {
    /// The configuration.
    public let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder
    let listeners: [Listener]
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let onListening: @Sendable ([SocketAddress]) async -> Void
    let connections: ConnectionRegistry
    /// Refusals at the connection limit are logged as a warning at most once a minute.
    let refusalWarning = RateLimitedWarning(interval: .seconds(60))
    private let boundAddresses = AsyncBox<[SocketAddress]>()
    private let refusals = Atomic<Int>(0)

    /// How many connections were closed on accept because a connection limit was reached
    /// (``HTTPServerConfiguration/maxConnections``, ``HTTPServerConfiguration/maxConnectionsPerAddress``).
    public var refusedConnections: Int { refusals.load(ordering: .relaxed) }

    /// The addresses and CIDR blocks the per-address connection limit does not apply to: at first
    /// ``HTTPServerConfiguration/connectionLimitExemptions``; set it to change them while the server runs (a
    /// configuration reload). Connections already open are not affected.
    public var connectionLimitExemptions: [AddressRange] {
        get { connections.exemptions }
        set { connections.exemptions = newValue }
    }

    /// Creates a server.
    /// - Parameters:
    ///   - responder: Answers every request (usually a ``Router``).
    ///   - listeners: The addresses to listen on, each optionally with TLS.
    ///   - configuration: Limits and timeouts.
    ///   - eventLoopGroup: The event loops; one per core by default.
    ///   - logger: The server's logger.
    ///   - onListening: Called once every listener is bound, with the bound addresses (ports resolved).
    public init(
        responder: any HTTPResponder,
        listeners: [Listener],
        configuration: HTTPServerConfiguration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        onListening: @escaping @Sendable ([SocketAddress]) async -> Void = { _ in }
    ) {
        precondition(!listeners.isEmpty, "an HTTPServer needs at least one listener")
        self.responder = responder
        self.listeners = listeners
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onListening = onListening
        configuration.memoryBudget.setLoggerIfUnset(logger)  // its refusals are logged (rate-limited)
        self.connections = ConnectionRegistry(
            maxConnections: min(configuration.maxConnections, Self.connectionsWithinDescriptorLimit()),
            maxPerAddress: configuration.maxConnectionsPerAddress,
            exempt: configuration.connectionLimitExemptions
        )
    }

    /// The most connections that leave descriptors for everything else (an eighth of the open-file limit, at least
    /// 32 and at most 512: log files, the pidfile, syslog and outgoing connections need few). Connections over the limit are accepted and closed at once; if accept(2) itself hit the open-file
    /// limit, the connection would stay queued and the listener readable: a busy loop.
    public static func connectionsWithinDescriptorLimit() -> Int {
        #if canImport(Glibc)
            let resource = Int32(RLIMIT_NOFILE.rawValue)
        #else
            let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        // RLIM_INFINITY is the largest value: it fails the second test
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < rlim_t(Int32.max) else { return .max }
        let descriptors = Int(limit.rlim_cur)
        return max(1, descriptors - max(32, min(512, descriptors / 8)))
    }

    /// The bound addresses, once the server listens.
    public var listeningAddresses: [SocketAddress] {
        get async { await boundAddresses.value }
    }

    /// Binds every listener and serves until graceful shutdown or cancellation.
    public func run() async throws {
        var serverChannels: [any Channel] = []
        do {
            for listener in listeners {
                serverChannels.append(try await bind(listener))
            }
        } catch {
            for channel in serverChannels { try? await channel.close() }
            throw error
        }
        let channels = serverChannels
        let addresses = serverChannels.compactMap(\.localAddress)
        for (listener, address) in zip(listeners, addresses) {
            logger.info(
                "listening",
                metadata: ["http.address": "\(address.hostAndPort)", "http.tls": "\(listener.security != nil)"]
            )
        }
        await boundAddresses.set(addresses)
        await onListening(addresses)

        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                for channel in channels { try? await channel.closeFuture.get() }
            } onCancel: {
                for channel in channels { channel.close(promise: nil) }
            }
        } onGracefulShutdown: {
            for channel in channels { channel.close(promise: nil) }
        }
        await drainConnections()
    }

    /// Asks every connection to finish, then closes the ones left after the deadline.
    private func drainConnections() async {
        let open = connections.all
        guard !open.isEmpty else { return }
        logger.info("draining connections", metadata: ["http.connections": "\(open.count)"])
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.connections.waitUntilEmpty()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: self.configuration.gracefulShutdownTimeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !drained {
            let left = connections.all
            logger.warning("closing connections after the graceful shutdown timeout", metadata: ["http.connections": "\(left.count)"])
            for channel in left { channel.close(promise: nil) }
        }
    }

    private func bind(_ listener: Listener) async throws -> any Channel {
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                // At the open-file limit accept(2) fails while the connection stays queued, so the listener is
                // readable again at once: without a back-off that is a busy loop. Wait a second, then retry.
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler(shouldForwardIOErrorCaught: false))
                }
            }
            // The options of accepted sockets are set by the child initializer (setOptions(of:)), not as
            // `childChannelOption`s: the bootstrap applies those one future at a time (~30k instructions per
            // connection).
            .childChannelInitializer { [self] channel in
                if let refusal = connections.add(channel) {
                    refused(refusal, remote: channel.remoteAddress)
                    return channel.close()
                }
                do {
                    guard let options = channel.syncOptions else {  // not a NIOPosix socket: the asynchronous way
                        return setOptions(of: channel).flatMapThrowing {
                            try self.configurePipeline(channel, security: listener.security)
                        }
                    }
                    try setOptions(options)
                    try configurePipeline(channel, security: listener.security)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        do {
            switch listener.address.kind {
            case .hostname(let host, let port):
                return try await bootstrap.bind(host: host, port: port).get()
            case .unixDomainSocket(let path):
                return try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            }
        } catch {
            throw HTTPServerError.bindFailed(address: listener.address, reason: "\(error)")
        }
    }

    /// Counts a refused connection and logs it: a warning at most once a minute (a flood must not flood the log),
    /// with the number refused since the last one; the others at debug level.
    private func refused(_ refusal: ConnectionRegistry.Refusal, remote: SocketAddress?) {
        refusals.add(1, ordering: .relaxed)
        let remote = remote.map { "\($0)" } ?? "?"
        guard let count = refusalWarning.due() else {
            logger.debug("connection refused: limit reached", metadata: ["http.remote": "\(remote)"])
            return
        }
        switch refusal {
        case .serverFull:
            logger.warning(
                "connections refused at the connection limit; raise the open-file limit (LimitNOFILE=)",
                metadata: ["http.remote": "\(remote)", "http.refused": "\(count)"]
            )
        case .addressFull(let address):
            logger.warning(
                "connections refused at the per-address connection limit",
                metadata: [
                    "http.remote": "\(address)", "http.refused": "\(count)",
                    "http.max_connections_per_address": "\(configuration.maxConnectionsPerAddress ?? 0)",
                ]
            )
        }
    }

    // (no SO_REUSEADDR on accepted sockets: it only matters to bind, and was a system call per connection)
    // Nagle off: on Linux an accepted socket inherits TCP_NODELAY from the listener (ServerBootstrap sets it there),
    // and setting it again cost two system calls per connection (NIO's setsockopt of TCP_NODELAY asks getsockname
    // for the address family first). ServerHardeningTests checks accepted sockets have it.

    /// Write backpressure: past the high mark the connection stops reading requests (HTTPConnectionHandler).
    private var writeBufferWaterMark: ChannelOptions.Types.WriteBufferWaterMark {
        .init(low: max(1, configuration.maxQueuedResponseBytes / 2), high: max(1, configuration.maxQueuedResponseBytes))
    }

    /// Whether ``writeBufferWaterMark`` is NIO's default for a new channel (32 KiB / 64 KiB), as the default
    /// ``HTTPServerConfiguration/maxQueuedResponseBytes`` (64 KiB) makes it: then accepted connections do not set it
    /// again, since setting a channel option costs about 2,000 instructions per connection (a chain of dynamic
    /// casts). `ServerHardeningTests` checks that NIO's default still is this one.
    private var writeBufferWaterMarkIsNIODefault: Bool {
        let marks = writeBufferWaterMark
        return marks.low == 32 * 1024 && marks.high == 64 * 1024
    }

    /// Every connection keeps its receive buffer between reads (NIO pools it), so its first size is a cost per idle
    /// connection: start small (a request head or a few WebSocket frames) and let it grow.
    private static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)

    /// Sets the options of an accepted connection, synchronously.
    private func setOptions(_ options: any NIOSynchronousChannelOptions) throws {
        #if !os(Linux)
            try options.setOption(.tcpOption(.tcp_nodelay), value: 1)
        #endif
        try options.setOption(.maxMessagesPerRead, value: 16)
        if !writeBufferWaterMarkIsNIODefault { try options.setOption(.writeBufferWaterMark, value: writeBufferWaterMark) }
        try options.setOption(.recvAllocator, value: Self.receiveAllocator)
    }

    /// The same options as ``setOptions(_:)`` on a channel without synchronous options.
    private func setOptions(of channel: any Channel) -> EventLoopFuture<Void> {
        #if !os(Linux)
            let nagle = channel.setOption(.tcpOption(.tcp_nodelay), value: 1)
        #else
            let nagle = channel.eventLoop.makeSucceededVoidFuture()
        #endif
        return nagle.flatMap { channel.setOption(.maxMessagesPerRead, value: 16) }
            .flatMap { [writeBufferWaterMark, writeBufferWaterMarkIsNIODefault] in
                guard !writeBufferWaterMarkIsNIODefault else { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.setOption(.writeBufferWaterMark, value: writeBufferWaterMark)
            }
            .flatMap { channel.setOption(.recvAllocator, value: Self.receiveAllocator) }
    }

    private func configurePipeline(_ channel: any Channel, security: (any ListenerSecurity)?) throws {
        let sync = channel.pipeline.syncOperations
        if let security { try security.configure(channel: channel) }

        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = max(configuration.maxHeaderSize, 1024)
        limits.maxHeaderFieldSize = max(configuration.maxHeaderSize, 1024)
        let handlers = HTTPConnectionHandler.HTTPHandlers(
            timer: RequestTimer(
                headTimeout: configuration.requestHeadTimeout,
                idleTimeout: configuration.idleTimeout,
                maxChunkFramingBytes: configuration.maxChunkFramingBytes
            ),
            decoder: ByteToMessageHandler(
                HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, limitConfiguration: limits)
            )
        )
        let httpHandler = HTTPConnectionHandler(
            responder: responder,
            configuration: configuration,
            logger: logger,
            isSecure: security != nil,
            handlers: handlers
        )
        // The connection handler writes responses as bytes, and does the pipelining and the answers to malformed
        // requests itself: no encoder, pipelining or error handler sits on the write path.
        // Named: a handler added without a name gets one made by string interpolation.
        if let timer = handlers.timer { try sync.addHandler(timer, name: "http-request-timer") }
        try sync.addHandler(handlers.decoder, name: "http-decoder")
        try sync.addHandler(httpHandler, name: "http-connection")
    }
}

/// A value set once and awaited by any number of readers.
actor AsyncBox<Value: Sendable> {
    private var stored: Value?
    private var waiters: [CheckedContinuation<Value, Never>] = []

    var value: Value {
        get async {
            if let stored { return stored }
            return await withCheckedContinuation { waiters.append($0) }
        }
    }

    func set(_ value: Value) {
        stored = value
        for waiter in waiters { waiter.resume(returning: value) }
        waiters = []
    }
}
