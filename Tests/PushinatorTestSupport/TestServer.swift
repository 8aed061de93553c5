package import Logging
import NIOCore
package import PushinatorHTTP
package import ServiceLifecycle

/// A live server on 127.0.0.1 with an OS-assigned port.
package struct TestServer: Sendable {
    package let server: HTTPServer
    package let group: ServiceGroup
    package let port: Int

    package var url: String { "http://127.0.0.1:\(port)" }

    /// Triggers graceful shutdown (the server stops accepting and drains).
    package func shutdown() async { await group.triggerGracefulShutdown() }

    package static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// Starts a server with `responder`, runs `body`, then shuts the server down and waits (bounded) until it
    /// stopped.
    package static func with(
        _ responder: any HTTPResponder,
        configuration: HTTPServerConfiguration = .init(),
        security: (any ListenerSecurity)? = nil,
        logger: Logger = TestServer.logger,
        _ body: (TestServer) async throws -> Void
    ) async throws {
        let server = HTTPServer(
            responder: responder,
            listeners: [Listener(.hostname("127.0.0.1", port: 0), security: security)],
            configuration: configuration,
            logger: logger
        )
        let group = ServiceGroup(services: [server], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var failure: (any Error)?
            do {
                let addresses = try await withTimeout(10, "listening") { await server.listeningAddresses }
                try await body(TestServer(server: server, group: group, port: addresses[0].port!))
            } catch {
                failure = error
            }
            await group.triggerGracefulShutdown()
            // Bounded wait for the server to stop: the first of the two tasks to finish decides.
            tasks.addTask {
                try await Task.sleep(for: .seconds(15))
                throw TestFailure("server did not shut down within 15 s")
            }
            defer { tasks.cancelAll() }
            try await tasks.next()
            if let failure { throw failure }
        }
    }
}
