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

/// A key for a typed value in ``ContextStorage``.
///
/// ```swift
/// enum CurrentUser: ContextStorageKey { typealias Value = User }
/// context.storage[CurrentUser.self] = user
/// ```
public protocol ContextStorageKey {
    /// The type of the stored value.
    associatedtype Value: Sendable
}

/// Typed values that middleware attach to a request context.
public struct ContextStorage: Sendable {
    private var values: [ObjectIdentifier: any Sendable] = [:]

    /// Creates empty storage.
    public init() {}

    /// The value stored for `key`.
    public subscript<Key: ContextStorageKey>(key: Key.Type) -> Key.Value? {
        get { values[ObjectIdentifier(key)] as? Key.Value }
        set { values[ObjectIdentifier(key)] = newValue }
    }
}
