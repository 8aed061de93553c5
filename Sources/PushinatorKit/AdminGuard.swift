import HTTPTypes
public import PushinatorHTTP

/// Protects the admin API: an optional bearer token, and no calls from browser pages of other origins.
///
/// A page on any website can make a visitor's browser POST to `http://127.0.0.1:9600`; such requests carry an
/// `Origin` header, so every `Origin` not listed is refused with 403. Backends (curl, PHP, Python...) send no
/// `Origin` and are unaffected.
public struct AdminGuard: SynchronousMiddleware {
    /// The current token and allowed origins (they can change on reload).
    let settings: @Sendable () -> (token: String?, allowedOrigins: [String])

    /// Creates a guard that reads its settings on every request.
    public init(settings: @escaping @Sendable () -> (token: String?, allowedOrigins: [String])) {
        self.settings = settings
    }

    public func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? {
        let (token, allowedOrigins) = settings()
        if let origin = request.headers[.origin], !allowedOrigins.contains(origin) {
            throw HTTPError(.forbidden, message: "Origin \(origin) may not call the admin API")
        }
        if let token {
            let presented = request.headers[.authorization] ?? ""
            guard HashDigest.constantTimeEquals(Array(presented.utf8), Array("Bearer \(token)".utf8)) else {
                throw HTTPError(.unauthorized, message: "Unauthorized", headers: [.wwwAuthenticate: "Bearer"])
            }
        }
        return nil
    }
}
