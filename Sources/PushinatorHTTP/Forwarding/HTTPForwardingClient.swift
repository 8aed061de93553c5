public import HTTPTypes
public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small reverse-proxy client: forwards a ``Request`` to another server over HTTP/1.1 and gives back its response
/// as a ``Response`` (status, header fields and body as the upstream sent them, hop-by-hop fields aside), or turns a
/// WebSocket upgrade into a byte pipe between the client's connection and the upstream's.
///
/// Connections are kept alive and reused, per upstream; everything is bounded: requests in flight per upstream
/// (past it: 503), idle connections kept, the response body size (502), the connect and response timeouts (502,
/// 504).
///
/// ```swift
/// let client = HTTPForwardingClient(eventLoopGroup: group)
/// Get("**") { request, context in
///     try await client.forward(request, context: context, to: HTTPUpstream(host: "10.0.0.5", port: 8081))
/// }
/// ```
public final class HTTPForwardingClient: Sendable {
    /// The limits of a ``HTTPForwardingClient``.
    public struct Configuration: Sendable, Hashable {
        /// The most requests in flight to one upstream (each holds its own connection); past it a request is
        /// answered 503. Default 4,096.
        public var maxInFlightPerUpstream: Int
        /// The most idle connections kept per upstream for reuse. Default 64.
        public var maxIdleConnectionsPerUpstream: Int
        /// An idle connection older than this is closed rather than reused. Default 30 s (shorter than
        /// ``HTTPServerConfiguration/idleTimeout``, so that the upstream does not close it under a request).
        public var idleTimeout: Duration
        /// The largest response body relayed; a larger one is answered 502. Default 16 MiB.
        public var maxResponseBodyBytes: Int
        /// How long connecting may take. Default 2 s.
        public var connectTimeout: Duration
        /// How long the upstream may take to answer completely (a long poll waits up to the ping interval plus the
        /// ping timeout). Default 60 s.
        public var responseTimeout: Duration

        /// Creates limits.
        public init(
            maxInFlightPerUpstream: Int = 4_096,
            maxIdleConnectionsPerUpstream: Int = 64,
            idleTimeout: Duration = .seconds(30),
            maxResponseBodyBytes: Int = 16 << 20,
            connectTimeout: Duration = .seconds(2),
            responseTimeout: Duration = .seconds(60)
        ) {
            self.maxInFlightPerUpstream = max(1, maxInFlightPerUpstream)
            self.maxIdleConnectionsPerUpstream = max(0, maxIdleConnectionsPerUpstream)
            self.idleTimeout = idleTimeout
            self.maxResponseBodyBytes = max(0, maxResponseBodyBytes)
            self.connectTimeout = connectTimeout
            self.responseTimeout = responseTimeout
        }
    }

    enum Failure: Error {
        case upstreamFailed, timedOut, responseTooLarge
    }

    private struct Idle {
        let channel: any Channel
        let since: ContinuousClock.Instant
    }

    private struct Pool {
        var idle: [Idle] = []
        var inFlight = 0
    }

    /// The limits.
    public let configuration: Configuration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let pools = Mutex<[HTTPUpstream: Pool]>([:])

    /// Creates a client.
    /// - Parameters:
    ///   - eventLoopGroup: Where pooled connections run (a tunnel runs on the client connection's event loop).
    ///   - configuration: The limits.
    ///   - logger: Where failures are logged (at `debug`: the caller answers them).
    public init(
        eventLoopGroup: any EventLoopGroup,
        configuration: Configuration = .init(),
        logger: Logger = Logger(label: "pushinator.forwarding")
    ) {
        self.eventLoopGroup = eventLoopGroup
        self.configuration = configuration
        self.logger = logger
    }

    /// The requests in flight to `upstream` now.
    public func inFlight(to upstream: HTTPUpstream) -> Int { pools.withLock { $0[upstream]?.inFlight ?? 0 } }

    /// The idle connections kept for `upstream` now.
    public func idleConnections(to upstream: HTTPUpstream) -> Int { pools.withLock { $0[upstream]?.idle.count ?? 0 } }

    /// Forwards `request` and answers with the upstream's response; a WebSocket upgrade (`Upgrade: websocket`)
    /// becomes a byte pipe after the upstream's `101`, relayed to the client as is.
    /// - Parameters:
    ///   - request: The request; its target, method, header fields and body are sent on.
    ///   - context: Its context: the client's address is appended to `X-Forwarded-For`; a tunnel runs on its event
    ///     loop.
    ///   - upstream: Where to.
    ///   - headers: Header fields added to the forwarded request (such as a marker that it was forwarded).
    /// - Returns: The upstream's response.
    /// - Throws: ``HTTPForwardingError`` when there is no response to relay.
    public func forward(
        _ request: Request,
        context: RequestContext,
        to upstream: HTTPUpstream,
        headers: HTTPFields = [:]
    ) async throws(HTTPForwardingError) -> Response {
        let isUpgrade = request.headers[.upgrade]?.lowercased() == "websocket"
        let head = Self.head(of: request, context: context, upstream: upstream, extra: headers, upgrade: isUpgrade)
        try reserve(upstream)
        defer { release(upstream) }
        if isUpgrade {
            return try await tunnel(head, to: upstream, on: context.eventLoop)
        }
        let answer = try await exchange(head, body: request.body.buffer, with: upstream)
        return Self.response(of: answer)
    }

    // MARK: Requests

    private func exchange(_ head: HTTPRequestHead, body: ByteBuffer, with upstream: HTTPUpstream)
        async throws(HTTPForwardingError) -> ForwardedExchange.Answer
    {
        var reused = takeIdle(upstream)
        while true {
            let channel: any Channel
            if let idle = reused {
                channel = idle
            } else {
                channel = try await connect(to: upstream, on: eventLoopGroup.next())
            }
            let promise = channel.eventLoop.makePromise(of: ForwardedExchange.Answer.self)
            let exchange = ForwardedExchange(
                head: head,
                body: body,
                promise: promise,
                timeout: TimeAmount(configuration.responseTimeout),
                maxBodyBytes: configuration.maxResponseBodyBytes,
                isTunnel: false
            )
            let written = channel.eventLoop.makePromise(of: Void.self)
            channel.writeAndFlush(exchange, promise: written)
            do {
                try await written.futureResult.get()
            } catch {
                promise.fail(error)
                channel.close(promise: nil)
                // a kept connection the upstream closed meanwhile: once more on a new one (nothing was sent)
                if reused != nil {
                    reused = nil
                    continue
                }
                throw HTTPForwardingError(.upstreamFailed, upstream: upstream.description)
            }
            do {
                let answer = try await promise.futureResult.get()
                if answer.keepAlive { keepIdle(channel, for: upstream) } else { channel.close(promise: nil) }
                return answer
            } catch {
                logger.debug("forwarded request failed", metadata: ["http.upstream": "\(upstream)", "error.message": "\(error)"])
                throw Self.forwardingError(error, upstream: upstream)
            }
        }
    }

    private func tunnel(_ head: HTTPRequestHead, to upstream: HTTPUpstream, on eventLoop: any EventLoop)
        async throws(HTTPForwardingError) -> Response
    {
        let channel = try await connect(to: upstream, on: eventLoop)
        let promise = channel.eventLoop.makePromise(of: ForwardedExchange.Answer.self)
        let exchange = ForwardedExchange(
            head: head,
            body: ByteBuffer(),
            promise: promise,
            timeout: TimeAmount(configuration.responseTimeout),
            maxBodyBytes: configuration.maxResponseBodyBytes,
            isTunnel: true
        )
        channel.writeAndFlush(exchange, promise: nil)
        let answer: ForwardedExchange.Answer
        do {
            answer = try await promise.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw Self.forwardingError(error, upstream: upstream)
        }
        guard let tunnel = answer.tunnel else {
            channel.close(promise: nil)
            return Self.response(of: answer)
        }
        var response = Response(status: .switchingProtocols)
        response.webSocketUpgrade = WebSocketUpgrade(
            headers: [:],
            configuration: nil,
            onUpgrade: { _ in },
            tunnel: HTTPTunnel(upstream: tunnel, channel: channel, headers: answer.head.headers)
        )
        return response
    }

    private static func forwardingError(_ error: any Error, upstream: HTTPUpstream) -> HTTPForwardingError {
        switch error as? Failure {
        case .timedOut: HTTPForwardingError(.timedOut, upstream: upstream.description)
        case .responseTooLarge: HTTPForwardingError(.responseTooLarge, upstream: upstream.description)
        default: HTTPForwardingError(.upstreamFailed, upstream: upstream.description)
        }
    }

    // MARK: Connections

    private func connect(to upstream: HTTPUpstream, on eventLoop: any EventLoop) async throws(HTTPForwardingError)
        -> any Channel
    {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let encoder = HTTPRequestEncoder()
                    let decoder = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes))
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(encoder)
                    try sync.addHandler(decoder)
                    try sync.addHandler(ForwardingClientHandler(codec: [encoder, decoder]))
                }
            }
        do {
            return try await bootstrap.connect(host: upstream.host, port: upstream.port).get()
        } catch {
            logger.debug("cannot connect to forward", metadata: ["http.upstream": "\(upstream)", "error.message": "\(error)"])
            throw HTTPForwardingError(.connectFailed, upstream: upstream.description)
        }
    }

    private func reserve(_ upstream: HTTPUpstream) throws(HTTPForwardingError) {
        let accepted = pools.withLock { pools -> Bool in
            guard (pools[upstream]?.inFlight ?? 0) < configuration.maxInFlightPerUpstream else { return false }
            pools[upstream, default: Pool()].inFlight += 1
            return true
        }
        guard accepted else { throw HTTPForwardingError(.tooManyInFlight, upstream: upstream.description) }
    }

    private func release(_ upstream: HTTPUpstream) {
        pools.withLock { pools in
            pools[upstream]?.inFlight -= 1
            if let pool = pools[upstream], pool.inFlight == 0, pool.idle.isEmpty { pools[upstream] = nil }
        }
    }

    private func takeIdle(_ upstream: HTTPUpstream) -> (any Channel)? {
        let now = ContinuousClock.now
        var stale: [any Channel] = []
        let channel = pools.withLock { pools -> (any Channel)? in
            while let idle = pools[upstream]?.idle.popLast() {
                if idle.channel.isActive, now - idle.since < configuration.idleTimeout { return idle.channel }
                stale.append(idle.channel)
            }
            return nil
        }
        for channel in stale { channel.close(promise: nil) }
        return channel
    }

    private func keepIdle(_ channel: any Channel, for upstream: HTTPUpstream) {
        let kept = pools.withLock { pools -> Bool in
            guard var pool = pools[upstream], pool.idle.count < configuration.maxIdleConnectionsPerUpstream else {
                return false
            }
            pool.idle.append(Idle(channel: channel, since: .now))
            pools[upstream] = pool
            return true
        }
        if !kept { channel.close(promise: nil) }
    }

    // MARK: Heads

    /// Header fields that concern one connection, not the message (RFC 9110 7.6.1), and the framing, which is set
    /// again for the next hop.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization", "content-length", "host",
    ]

    static func head(
        of request: Request,
        context: RequestContext,
        upstream: HTTPUpstream,
        extra: HTTPFields,
        upgrade: Bool
    ) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + extra.count + 4)
        headers.add(name: "Host", value: request.head.authority ?? upstream.description)
        var forwardedFor: [String] = []
        for field in request.headers {
            let name = field.name.canonicalName
            if name == "x-forwarded-for" {
                forwardedFor.append(field.value)
                continue
            }
            // the body is here already: no `Expect: 100-continue` for the upstream
            guard !hopByHop.contains(name), name != "expect" else { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        if let peer = context.remoteIP { forwardedFor.append(peer) }
        if !forwardedFor.isEmpty { headers.add(name: "X-Forwarded-For", value: forwardedFor.joined(separator: ", ")) }
        for field in extra { headers.replaceOrAdd(name: field.name.rawName, value: field.value) }
        if upgrade {
            headers.add(name: "Connection", value: "Upgrade")
            headers.add(name: "Upgrade", value: "websocket")
        } else {
            headers.add(name: "Content-Length", value: String(request.body.count))
        }
        return HTTPRequestHead(
            version: .http1_1,
            method: HTTPMethod(rawValue: request.method.rawValue),
            uri: request.head.path ?? "/",
            headers: headers
        )
    }

    /// The upstream's header fields without the hop-by-hop ones.
    static func fields(of headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers where !hopByHop.contains(name.lowercased()) {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return fields
    }

    static func response(of answer: ForwardedExchange.Answer) -> Response {
        Response(
            status: HTTPResponse.Status(code: Int(answer.head.status.code), reasonPhrase: answer.head.status.reasonPhrase),
            headers: fields(of: answer.head.headers),
            body: .buffer(answer.body)
        )
    }
}
