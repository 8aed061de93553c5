public import Logging
public import NIOCore

/// Per-request information that travels beside the ``Request`` through middleware and handlers.
///
/// Middleware can attach typed values for the handlers after it with ``storage``.
public struct RequestContext: Sendable {
    /// The path parameters captured by the matched route (`:name`, `{name}`, `*`, `**`).
    public var parameters: Parameters
    /// A logger with the request's metadata (`http.request_id`, ...).
    public var logger: Logger
    /// The address of the client, when known.
    public var remoteAddress: SocketAddress?
    /// The event loop of the connection.
    public var eventLoop: any EventLoop
    /// Whether the connection is encrypted (TLS).
    public var isSecure: Bool
    /// Typed values attached by middleware.
    public var storage: ContextStorage
    /// The part of the path a mounted responder handles (the path after the mount prefix, starting with `/`).
    public var remainingPath: Substring
    /// The request id that ``RequestLogMiddleware`` took from `X-Request-Id` or generated; `nil` without it.
    public internal(set) var requestID: String?
    /// When ``RequestLogMiddleware`` started timing the request (only when its line is logged).
    var requestLogStart: ContinuousClock.Instant?
    /// When a middleware that times requests for metrics started (set in its `handleRequest`, read in its
    /// `handleResponse`); `nil` unless one did. A typed field rather than ``storage``: a metrics middleware runs on
    /// every request, and a storage entry costs an allocation and a dynamic cast. A `NIODeadline` (the monotonic
    /// clock in integer nanoseconds): reading it and subtracting cost a few instructions, where
    /// `ContinuousClock.Instant` and its `Duration` cost a few hundred per request.
    public var timingStart: NIODeadline?

    /// Creates a context; the server does this for each request, tests may too.
    public init(
        logger: Logger,
        eventLoop: any EventLoop,
        remoteAddress: SocketAddress? = nil,
        isSecure: Bool = false,
        parameters: Parameters = .init()
    ) {
        self.parameters = parameters
        self.logger = logger
        self.remoteAddress = remoteAddress
        self.eventLoop = eventLoop
        self.isSecure = isSecure
        self.storage = ContextStorage()
        self.remainingPath = "/"
    }

    /// The client's IP address as text (without port), when known.
    public var remoteIP: String? { remoteAddress?.ipAddress }
}
