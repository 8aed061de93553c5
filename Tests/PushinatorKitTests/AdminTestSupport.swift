import HTTPTypes
import Logging
import PushinatorJSON
import PushinatorKit
import PushinatorSocketIO
import PushinatorTesting

/// A pushinator app on a Socket.IO server that is never started.
func makeApp(_ configure: (inout PushinatorConfiguration) -> Void = { _ in }) -> PushApp {
    var settings = PushinatorConfiguration.defaults
    configure(&settings)
    return PushApp(configuration: settings, io: SocketIOServer(logger: Logger(label: "admin-test")))
}

/// Runs `body` with a pushinator app and a client of its admin router, called in process (`router.test`).
func withApp(
    _ configure: (inout PushinatorConfiguration) -> Void = { _ in },
    _ body: (PushApp, any TestClient) async throws -> Void
) async throws {
    let app = makeApp(configure)
    try await AdminRouter(app: app).router.test(logger: Logger(label: "admin-test")) { client in
        try await body(app, client)
    }
}

extension TestClient {
    /// POSTs `body` (`{}` unless given), as the admin API's callers do.
    func post(_ path: String, _ body: String = "{}", headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(.post, path, headers: headers, body: body)
    }
}

extension TestResponse {
    /// The member `key` of the JSON object in the body; `nil` when the body is not one or lacks it.
    subscript(key: String) -> JSONValue? { (try? json())?.object?[key] }
}
