// The server the official Engine.IO and Socket.IO protocol suites expect (how to get and run them:
// Documentation/protocol-notes.md, "Conformance"):
// raw Engine.IO echo at /engine.io/, Socket.IO at /socket.io/ with namespaces / and /custom,
// pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1 000 000, connectTimeout 1 s, CORS *.
import ArgumentParser
import EngineIO
import HTTPTypes
import Logging
import NIOPosix
import PushinatorCluster
import PushinatorHTTP
import PushinatorSocketIO
import ServiceLifecycle
import UnixSignals

/// Echoes every Engine.IO message back to its session.
final class EchoDelegate: EngineIOServerDelegate, EngineIOSessionDelegate, @unchecked Sendable {
    func engineIO(_ server: EngineIOServer, didOpen session: EngineIOSession, request: Request, context: RequestContext) {
        session.delegate = self
    }
    func session(_ session: EngineIOSession, didReceive message: EngineIOMessage) { session.send(message) }
    func session(_ session: EngineIOSession, didCloseWith reason: EngineIOCloseReason) {}
}

@main
struct ConformanceServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance-server",
        abstract: "Serves the configuration the official Engine.IO/Socket.IO protocol test suites expect."
    )

    @Option(help: "The port to listen on (0 picks a free one).") var port = 3000
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Flag(help: "Log every request and session event.") var verbose = false
    @Flag(help: "Run as a node of a cluster (on an in-process bus): session ids carry the node's prefix, and requests for other nodes' sessions go through the forwarder.")
    var cluster = false

    func run() async throws {
        var logger = Logger(label: "conformance-server")
        logger.logLevel = verbose ? .debug : .info

        let engineSettings = EngineIOConfiguration(
            pingInterval: .milliseconds(300),
            pingTimeout: .milliseconds(200),
            maxPayload: 1_000_000
        )
        let engine = EngineIOServer(configuration: engineSettings, logger: logger)
        let echo = EchoDelegate()
        engine.delegate = echo

        var services: [any Service] = []
        var makeAdapter: @Sendable (AdapterContext) -> any SocketIOAdapter = { InMemoryAdapter(context: $0) }
        var forwarder: ClusterSessionForwarder?
        let bus = InMemoryClusterBus()  // transports hold it unowned: it lives until the end of run()
        if cluster {
            let transport = bus.makeTransport()
            let node = SocketIOCluster(transport: transport, logger: logger)
            let client = HTTPForwardingClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
            forwarder = ClusterSessionForwarder(cluster: node, client: client, logger: logger)
            makeAdapter = node.adapter
            engine.forwarder = forwarder
            services.append(node)
        }
        let io = SocketIOServer(configuration: .init(engine: engineSettings, connectTimeout: .seconds(1)), adapter: makeAdapter, logger: logger)
        io.engine.forwarder = forwarder
        for name in ["/", "/custom"] {
            io.namespace(name) { namespace in
                namespace.onConnection { socket in socket.emit("auth", socket.handshake.auth) }
                guard name == "/" else { return }
                namespace.on("message") { socket, event in socket.emit("message-back", event.arguments) }
                namespace.on("message-with-ack") { _, event in event.ack(event.arguments) }
            }
        }

        let allowAnyOrigin = ClosureMiddleware { request, context, next in
            var response = try await next(request, context)
            response.headers[.accessControlAllowOrigin] = "*"
            return response
        }
        let router = Router {
            allowAnyOrigin
            Mount("engine.io", responder: engine)
            io.routes(at: "socket.io")
        }
        let server = HTTPServer(responder: router, listeners: [Listener(.hostname(host, port: port))], logger: logger) {
            StandardOutput.writeLine("LISTENING http://\($0[0].hostAndPort)")
        }
        try await ServiceGroup(services: services + [server, io], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        withExtendedLifetime(bus) {}
    }
}
