public import Logging
public import PushinatorHTTP

extension HTTPResponder {
    /// Runs `body` with a client that sends requests to this responder.
    ///
    /// ```swift
    /// try await router.test { client in
    ///     let response = try await client.execute(.get, "/healthz")
    ///     #expect(response.status == .ok)
    /// }
    /// try await router.test(.live()) { client in ... }  // the same closure over a real socket
    /// ```
    ///
    /// A closure whose only `try` is inside `#expect(...)` needs its effects spelled out,
    /// `{ (client) async throws in ... }`: Swift infers a closure's `throws` from the `try` it can see.
    /// - Parameters:
    ///   - setup: in process (the default) or a live server on 127.0.0.1.
    ///   - logger: the logger the requests (and the live server) log to.
    ///   - body: the test; the server (if any) stops when it returns or throws.
    public func test(
        _ setup: TestingSetup = .inProcess,
        logger: Logger = Logger(label: "test"),
        _ body: (any TestClient) async throws -> Void
    ) async throws {
        switch setup.kind {
        case .inProcess:
            return try await body(InProcessClient(responder: self, logger: logger))
        case .live(let configuration):
            return try await LiveServerClient.run(responder: self, configuration: configuration, logger: logger, body)
        }
    }
}
