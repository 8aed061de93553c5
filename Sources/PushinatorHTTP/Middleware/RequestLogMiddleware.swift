public import HTTPTypes
public import Logging
import Synchronization

/// Logs one line per request with its method, path, status, duration and request id.
///
/// The request id is taken from the request's `X-Request-Id` header when it looks sane (at most 128 visible ASCII
/// characters), otherwise generated (16 random hex digits per process, then a counter). It is returned in the response's `X-Request-Id` header and
/// added to ``RequestContext/logger`` as `http.request_id` (when the request line is logged at the logger's level), so every log line of the handlers carries it.
///
/// Put it at the top of a ``Router`` to log every request, 404s included:
///
/// ```swift
/// let router = Router {
///     RequestLogMiddleware(.info)
///     Get("healthz") { _, _ in HTTPResponse.Status.ok }
/// }
/// ```
///
/// A line looks like `request [http.duration_ms: 0.42, http.method: GET, http.path: /healthz,
/// http.request_id: 5f0c..., http.status: 200]`.
public struct RequestLogMiddleware: SynchronousMiddleware {
    /// The level of the per-request line.
    public var level: Logger.Level
    /// The header that carries the request id, in and out. Default `X-Request-Id`.
    public var requestIDHeader: HTTPField.Name

    /// Creates the middleware.
    /// - Parameters:
    ///   - level: The level of the per-request line; `.info` by default.
    ///   - requestIDHeader: The header that carries the request id; `X-Request-Id` by default.
    public init(_ level: Logger.Level = .info, requestIDHeader: HTTPField.Name = .requestID) {
        self.level = level
        self.requestIDHeader = requestIDHeader
    }

    public func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? {
        let requestID = request.headers[requestIDHeader].flatMap(Self.validated) ?? Self.makeRequestID()
        context.requestID = requestID
        // When the request line would not be written, skip the timing and the metadata (setting logger metadata
        // re-renders it in most handlers); the client still gets the id.
        if context.logger.logLevel <= level {
            context.requestLogStart = .now
            context.logger[metadataKey: "http.request_id"] = "\(requestID)"
        }
        return nil
    }

    public func handleResponse(_ response: inout Response, request: Request, context: RequestContext) {
        if let requestID = context.requestID {
            // Appending is much cheaper than the subscript's setter, which removes and re-inserts
            if response.headers[requestIDHeader] == nil {
                response.headers.append(HTTPField(name: requestIDHeader, value: requestID))
            } else {
                response.headers[requestIDHeader] = requestID
            }
        }
        guard let start = context.requestLogStart else { return }
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.log(
            level: level,
            "request",
            metadata: [
                "http.method": "\(request.method.rawValue)",
                "http.path": "\(request.path)",
                "http.status": "\(response.status.code)",
                "http.duration_ms": "\((milliseconds * 100).rounded() / 100)",
            ]
        )
    }

    /// A client-supplied id, when it is short and printable (it ends up in logs and headers).
    static func validated(_ id: String) -> String? {
        let utf8 = id.utf8
        guard !utf8.isEmpty, utf8.count <= 128, utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return id
    }

    /// A process-unique id: 64 random bits drawn once per process, then a counter (`5f0c9a1e2b3d4c6f-0000001a`).
    /// Drawing fresh random bits per request costs a system call.
    static func makeRequestID() -> String {
        let number = requestCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 25) { bytes in
            _ = bytes.initialize(fromContentsOf: requestIDPrefix)
            bytes[16] = UInt8(ascii: "-")
            for index in 0..<8 { bytes[17 + index] = hexDigit(number >> UInt64(28 - 4 * index)) }
            return 25
        }
    }

    private static func hexDigit(_ value: UInt64) -> UInt8 {
        let nibble = UInt8(truncatingIfNeeded: value & 0xF)
        return nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    private static let requestCounter = Atomic<UInt64>(0)
    private static let requestIDPrefix: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        return (0..<16).map { hexDigit(random >> (60 - 4 * UInt64($0))) }
    }()
}

extension HTTPField.Name {
    /// `X-Request-Id`: the id that ties a request to its log lines.
    public static let requestID = Self("X-Request-Id")!
}
