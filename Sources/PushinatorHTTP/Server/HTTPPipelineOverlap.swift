import NIOHTTP1

/// Which pipelined requests may start while the answers before them are still pending.
///
/// RFC 9112 (9.3.2) lets a server process pipelined requests in parallel when they all have safe methods; a
/// request with another method may depend on the effect of the one before it (a `POST` that registers a user,
/// then one that sends to that user), so by default it waits until every answer before it is written, and
/// nothing after it starts until its own answer is (``safeMethods``). An API whose unsafe requests are
/// independent of one another's effects can let them overlap too, by path (``safeMethods(andPaths:)``) or
/// entirely (``all``). Answers always leave in request order; handlers always start in request order.
public struct HTTPPipelineOverlap: Sendable, Hashable {
    /// The paths (without the query) whose requests overlap whatever their method.
    private let paths: [String]
    private let everything: Bool

    /// `GET`, `HEAD`, `OPTIONS` and `TRACE` overlap; any other method waits for the answers before it. The default.
    public static let safeMethods = HTTPPipelineOverlap(paths: [], everything: false)

    /// Every request overlaps (only for APIs whose requests never depend on the effect of one before them).
    public static let all = HTTPPipelineOverlap(paths: [], everything: true)

    /// Safe methods, and any method on these exact paths (compared without the query string).
    /// - Parameter paths: Paths such as `/user/send`; requests to them must not depend on the effect of the
    ///   request before them on the same connection.
    public static func safeMethods(andPaths paths: [String]) -> HTTPPipelineOverlap {
        HTTPPipelineOverlap(paths: paths, everything: false)
    }

    /// Whether a request with this head may start while earlier answers are pending (other rules, such as
    /// upgrades and `Connection: close`, are the connection's).
    func allows(_ head: HTTPRequestHead) -> Bool {
        if everything { return true }
        switch head.method {
        case .GET, .HEAD, .OPTIONS, .TRACE: return true
        default: break
        }
        guard !paths.isEmpty else { return false }
        let uri = head.uri.utf8
        let path = uri.firstIndex(of: UInt8(ascii: "?")).map { head.uri[..<$0] } ?? Substring(head.uri)
        let length = path.utf8.count
        for candidate in paths where candidate.utf8.count == length && candidate == path { return true }
        return false
    }
}
