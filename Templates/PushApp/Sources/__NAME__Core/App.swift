import HTTPTypes
import Logging
import PushinatorHTTP
import PushinatorJSON
import PushinatorRuntime
import PushinatorSocketIO
import ServiceLifecycle

/// __NAME__'s settings: `__NAME_LOWER__.conf` (node-style `module.exports = {...}` or JSON), then `__NAME_UPPER___*`.
public struct AppConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// The token browsers send in the Socket.IO handshake (`io(url, {auth: {token}})`); empty lets anyone in.
    public var clientToken = ""

    public init() {}

    /// Reads `path` if it exists, then the environment (`__NAME_UPPER___PORT=9000`, `__NAME_UPPER___CLIENT_TOKEN=...`).
    public static func load(
        from path: String?,
        environment: EnvironmentOverrides = EnvironmentOverrides(prefix: "__NAME_UPPER__")
    ) throws -> AppConfiguration {
        let document = try path.map { try ConfigDocument.load(contentsOf: $0, environment: environment) }
            ?? ConfigDocument(root: .object([:]), source: "defaults", environment: environment)
        var settings = AppConfiguration()
        settings.host = try document.host("host", default: settings.host)
        settings.port = try document.int("port", default: settings.port, in: 0...65535)
        settings.clientToken = try document.string("clientToken", default: settings.clientToken)
        return settings
    }
}

/// The app: a namespace browsers join rooms on, and an HTTP route your backend pushes to a room with.
public struct App: Sendable {
    public let io: SocketIOServer
    public let router: Router

    public init(configuration: AppConfiguration, logger: Logger) {
        let io = SocketIOServer(logger: logger)
        io.namespace("/") { clients in
            clients.use { socket in  // connect middleware: runs before the client's CONNECT is answered
                guard configuration.clientToken.isEmpty || socket.handshake.auth["token"]?.string == configuration.clientToken
                else { throw ConnectError("unauthorized", data: ["code": 401]) }
            }
            clients.on("join") { socket, event in
                guard let room = event.arguments.first?.string else { return event.ack(["ok": false]) }
                socket.join(room)
                event.ack(["ok": true])
            }
        }
        self.io = io
        self.router = Router {
            Get("health") { _, _ in Response.json(["status": "ok"]) }
            Post("push/:room") { request, context in  // curl -d '{"text":"hi"}' localhost:8080/push/news
                let room = try context.parameters.require("room")
                guard let message = try? JSONValue(parsing: request.body.string) else {
                    throw HTTPError(.badRequest, message: "the body must be JSON")
                }
                return Response.json(["delivered": .integer(io.of("/").to(room).emit("push", message))])
            }
            io.routes(at: "socket.io", middleware: [CORSMiddleware(allowCredentials: true)])
        }
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully (WebSockets closed, polls answered).
    public func run(configuration: AppConfiguration, logger: Logger) async throws {
        let server = HTTPServer(responder: router, listeners: [Listener(.hostname(configuration.host, port: configuration.port))], logger: logger) {
            StandardOutput.writeLine("LISTENING http://\($0[0].connectableHostAndPort)")
        }
        try await ServiceGroup(services: [server, io], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
