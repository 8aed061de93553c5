/// Splitting route patterns and request paths into segments.
enum RoutePath {
    /// The non-empty segments of `path` (`"/a//b/"` gives `["a", "b"]`).
    static func segments(of path: some StringProtocol) -> [Substring] {
        Substring(path).split(separator: "/", omittingEmptySubsequences: true)
    }
}
