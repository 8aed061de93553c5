import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import PushinatorHTTP
import PushinatorJSON
import PushinatorKit
import PushinatorRuntime
import PushinatorSocketIO

/// Calls a router in process, without a socket, the way the HTTP server does.
struct AdminClient {
    let router: Router

    /// The status and JSON body of the answer.
    struct Reply {
        let status: Int
        let json: JSONValue
        let headers: HTTPFields
        subscript(key: String) -> JSONValue? { json.object?[key] }
    }

    func execute(
        _ method: HTTPRequest.Method,
        _ path: String,
        body: String = "",
        headers: HTTPFields = [:]
    ) async throws -> Reply {
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "127.0.0.1", path: path, headerFields: headers),
            body: .init(string: body)
        )
        var context = RequestContext(logger: Logger(label: "admin-test"), eventLoop: EmbeddedEventLoop())
        context.remainingPath = request.path
        let response: Response
        do {
            response = try await router.respond(to: request, context: context)
        } catch let error as any HTTPResponseError {
            response = error.response(for: request)
        }
        let bytes = response.body.buffer.map { Array($0.readableBytesView) } ?? []
        let json = bytes.isEmpty ? JSONValue.null : try JSONValue(parsing: ByteBuffer(bytes: bytes))
        return Reply(status: Int(response.status.code), json: json, headers: response.headers)
    }

    func post(_ path: String, _ body: String = "{}", headers: HTTPFields = [:]) async throws -> Reply {
        try await execute(.post, path, body: body, headers: headers)
    }
}

/// A pushinator app with its admin router, on a Socket.IO server that is never started.
func makeApp(_ configure: (inout PushinatorConfiguration) -> Void = { _ in }) -> (PushApp, AdminClient) {
    var settings = PushinatorConfiguration.defaults
    configure(&settings)
    let app = PushApp(configuration: settings, io: SocketIOServer(logger: Logger(label: "admin-test")))
    return (app, AdminClient(router: AdminRouter(app: app).router))
}
