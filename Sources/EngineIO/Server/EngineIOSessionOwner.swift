/// Session ids that name the node holding the session (cluster mode): the node's prefix, then random characters, 20
/// in all, so that any node can tell from a request's `sid` alone which node it belongs to.
///
/// ```swift
/// let prefix = EngineIOSessionOwner.makePrefix()            // "Qx3a", advertised to the other nodes
/// let sid = EngineIOSessionOwner.makeSessionID(prefix: prefix)  // "Qx3a" + 16 random characters (96 bits)
/// EngineIOSessionOwner.prefix(of: sid) == prefix            // true
/// ```
///
/// Session ids without a node prefix (a single server) are ``RandomIdentifier``'s: 15 characters, 90 random bits,
/// so they never look like a cluster session id.
public enum EngineIOSessionOwner {
    /// The length of a node prefix: 4 URL-safe base64 characters (24 bits, so two nodes of a cluster practically
    /// never draw the same one; a clash is logged by the cluster).
    public static let prefixLength = 4
    private static let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// A new random node prefix.
    public static func makePrefix() -> String { String(RandomIdentifier.make().prefix(prefixLength)) }

    /// Whether `prefix` can start session ids: ``prefixLength`` URL-safe base64 characters.
    public static func isValidPrefix(_ prefix: String) -> Bool {
        prefix.utf8.count == prefixLength && prefix.utf8.allSatisfy(alphabet.contains)
    }

    /// A new session id of the node with `prefix`: the prefix, then 16 random characters (96 bits).
    /// - Parameter prefix: A valid node prefix (see ``isValidPrefix(_:)``); otherwise the id has no prefix.
    public static func makeSessionID(prefix: String) -> String {
        guard isValidPrefix(prefix) else { return RandomIdentifier.make(count: 20) }
        return prefix + RandomIdentifier.make(count: 20 - prefixLength)
    }

    /// The node prefix a session id starts with; `nil` for anything that is not 20 URL-safe base64 characters.
    /// - Parameter sid: A session id from a request.
    public static func prefix(of sid: String) -> String? {
        guard sid.utf8.count == 20, sid.utf8.allSatisfy(alphabet.contains) else { return nil }
        return String(sid.prefix(prefixLength))
    }
}
