public import HTTPTypes

/// Answers CORS preflight requests and adds the CORS headers to every response of allowed origins, error
/// responses included.
///
/// A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered with 204 here; the route is not called.
/// For other requests, `Access-Control-Allow-Origin` is `*` when any origin is allowed and credentials are not,
/// otherwise the request's origin, with `Vary: Origin`. Requests from origins that are not allowed get no CORS
/// headers, so the browser blocks them.
///
/// Place it at the top of the ``Router`` so that 404s and 405s carry the headers too:
///
/// ```swift
/// let router = Router {
///     CORSMiddleware(
///         allowedOrigins: .list(["https://app.example.com"]),
///         allowCredentials: true,
///         exposedHeaders: ["X-Request-Id"]
///     )
///     Post("api/rooms") { request, context in ... }
/// }
/// ```
public struct CORSMiddleware: SynchronousMiddleware {
    /// Which origins may call the server from a browser.
    public struct AllowedOrigins: Sendable {
        enum Kind: Sendable {
            case any
            case list(Set<String>)
        }
        let kind: Kind

        /// Every origin.
        public static var any: Self { Self(kind: .any) }
        /// Exactly these origins (scheme, host and port as the browser sends them: `https://app.example.com`).
        public static func list(_ origins: [String]) -> Self { Self(kind: .list(Set(origins))) }

        func allows(_ origin: String) -> Bool {
            switch kind {
            case .any: true
            case .list(let origins): origins.contains(origin)
            }
        }
    }

    /// Which origins are allowed.
    public var allowedOrigins: AllowedOrigins
    /// The methods allowed in preflight answers.
    public var allowedMethods: [HTTPRequest.Method]
    /// The request headers allowed in preflight answers; `nil` allows whatever the preflight asks for.
    public var allowedHeaders: [String]?
    /// Whether the browser may send cookies and credentials (`Access-Control-Allow-Credentials: true`).
    public var allowCredentials: Bool
    /// The response headers that scripts may read (`Access-Control-Expose-Headers`).
    public var exposedHeaders: [String]
    /// How long browsers may cache a preflight answer; `nil` omits `Access-Control-Max-Age`.
    public var maxAge: Duration?

    /// Creates the middleware.
    /// - Parameters:
    ///   - allowedOrigins: Which origins are allowed; any by default.
    ///   - allowedMethods: The methods allowed in preflight answers.
    ///   - allowedHeaders: The request headers allowed; `nil` (the default) allows what the preflight asks for.
    ///   - allowCredentials: Whether credentials are allowed; off by default.
    ///   - exposedHeaders: The response headers scripts may read.
    ///   - maxAge: How long a preflight answer may be cached; 10 minutes by default.
    public init(
        allowedOrigins: AllowedOrigins = .any,
        allowedMethods: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options],
        allowedHeaders: [String]? = nil,
        allowCredentials: Bool = false,
        exposedHeaders: [String] = [],
        maxAge: Duration? = .seconds(600)
    ) {
        self.allowedOrigins = allowedOrigins
        self.allowedMethods = allowedMethods
        self.allowedHeaders = allowedHeaders
        self.allowCredentials = allowCredentials
        self.exposedHeaders = exposedHeaders
        self.maxAge = maxAge
    }

    public func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? {
        guard let origin = request.headers[.origin], request.method == .options,
            request.headers[.accessControlRequestMethod] != nil
        else { return nil }
        var response = Response(status: .noContent)
        guard allowedOrigins.allows(origin) else {
            response.headers.append(HTTPField(name: .vary, value: "Origin"))
            return response
        }
        addOriginHeaders(origin, to: &response)
        response.headers[.accessControlAllowMethods] = allowedMethods.map(\.rawValue).joined(separator: ", ")
        if let allowedHeaders {
            if !allowedHeaders.isEmpty {
                response.headers[.accessControlAllowHeaders] = allowedHeaders.joined(separator: ", ")
            }
        } else if let requested = request.headers[.accessControlRequestHeaders] {
            response.headers[.accessControlAllowHeaders] = requested
            response.headers.append(HTTPField(name: .vary, value: "Access-Control-Request-Headers"))
        }
        if let maxAge {
            response.headers[.accessControlMaxAge] = String(maxAge.components.seconds)
        }
        return response
    }

    public func handleResponse(_ response: inout Response, request: Request, context: RequestContext) {
        guard let origin = request.headers[.origin] else { return }
        guard allowedOrigins.allows(origin) else {
            if case .list = allowedOrigins.kind { response.headers.append(HTTPField(name: .vary, value: "Origin")) }
            return
        }
        addOriginHeaders(origin, to: &response)
        if !exposedHeaders.isEmpty {
            response.headers[.accessControlExposeHeaders] = exposedHeaders.joined(separator: ", ")
        }
    }

    private func addOriginHeaders(_ origin: String, to response: inout Response) {
        if case .any = allowedOrigins.kind, !allowCredentials {
            response.headers[.accessControlAllowOrigin] = "*"
        } else {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers.append(HTTPField(name: .vary, value: "Origin"))
        }
        if allowCredentials {
            response.headers[.accessControlAllowCredentials] = "true"
        }
    }
}
