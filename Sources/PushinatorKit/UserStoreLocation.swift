/// Where pushinator keeps registered users (`users.store`).
public enum UserStoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// In memory: gone on restart (node pushinator's behaviour, the default).
    case memory
    /// An SQLite file at this absolute path.
    case sqlite(path: String)
    /// PostgreSQL, shared by the nodes of a cluster: the cluster's database (`nil`, `'postgres'`) or this URL.
    case postgres(url: String?)

    /// Parses `memory`, `sqlite:/absolute/path`, `postgres` or `postgres://...` (`postgresql://...`); `nil` for
    /// anything else.
    public init?(_ text: String) {
        if text == "memory" {
            self = .memory
        } else if text.hasPrefix("sqlite:"), text.dropFirst(7).hasPrefix("/") {
            self = .sqlite(path: String(text.dropFirst(7)))
        } else if text == "postgres" || text == "postgresql" {
            self = .postgres(url: nil)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else {
            return nil
        }
    }

    /// The location, without a password.
    public var description: String {
        switch self {
        case .memory: "memory"
        case .sqlite(let path): "sqlite:" + path
        case .postgres(nil): "postgres"
        case .postgres(let url?): Self.redacted(url)
        }
    }

    /// `url` with the password after `user:` replaced by `***`.
    static func redacted(_ url: String) -> String {
        let characters = Array(url)
        guard let slashes = (0..<max(0, characters.count - 2)).first(where: { characters[$0] == ":" && characters[$0 + 1] == "/" && characters[$0 + 2] == "/" }),
            let at = characters.lastIndex(of: "@"), at > slashes,
            let colon = characters[(slashes + 3)..<at].firstIndex(of: ":")
        else { return url }
        return String(characters[...colon]) + "***" + String(characters[at...])
    }
}
