public import PushinatorHTTP

/// Where ``PushinatorHTTP/HTTPResponder/test(_:_:)`` runs the responder.
public struct TestingSetup: Sendable {
    enum Kind: Sendable {
        case inProcess
        case live(HTTPServerConfiguration)
    }

    let kind: Kind

    /// Calls the responder directly, without a socket or a server: fast, and what most tests want.
    public static var inProcess: Self { .init(kind: .inProcess) }

    /// Runs an ``PushinatorHTTP/HTTPServer`` on 127.0.0.1 with a free port and sends real HTTP/1.1 requests to it,
    /// for what only the wire shows (framing, `Connection` handling, limits).
    /// - Parameter configuration: the server's configuration.
    public static func live(configuration: HTTPServerConfiguration = .init()) -> Self {
        .init(kind: .live(configuration))
    }
}
