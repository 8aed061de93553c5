/// The cookie an Engine.IO handshake sets, carrying the session id.
public struct EngineIOCookie: Sendable {
    /// The cookie name. Default `io`.
    public var name: String
    /// The cookie path. Default `/`.
    public var path: String
    /// Whether scripts may not read it. Default true.
    public var httpOnly: Bool
    /// The `SameSite` attribute. Default `Lax`.
    public var sameSite: String

    /// Creates a cookie setting.
    public init(name: String = "io", path: String = "/", httpOnly: Bool = true, sameSite: String = "Lax") {
        self.name = name
        self.path = path
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }
}
