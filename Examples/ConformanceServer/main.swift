import EngineIO
import HTTPTypes
import Logging
import PushinatorHTTP
import ServiceLifecycle
import UnixSignals

/// Echoes every Engine.IO message back to its session (what the engine.io-protocol suite expects).
final class EchoDelegate: EngineIOServerDelegate, EngineIOSessionDelegate, @unchecked Sendable {
    func engineIO(_ server: EngineIOServer, didOpen session: EngineIOSession, request: Request, context: RequestContext) {
        session.delegate = self
    }
    func session(_ session: EngineIOSession, didReceive message: EngineIOMessage) { session.send(message) }
    func session(_ session: EngineIOSession, didCloseWith reason: EngineIOCloseReason) {}
}

var logger = Logger(label: "conformance-server")
logger.logLevel = .info
var port = 3000
if let index = CommandLine.arguments.firstIndex(of: "--port"), index + 1 < CommandLine.arguments.count {
    port = Int(CommandLine.arguments[index + 1]) ?? 3000
}
let configuration = EngineIOConfiguration(pingInterval: .milliseconds(300), pingTimeout: .milliseconds(200), maxPayload: 1_000_000)
let engine = EngineIOServer(configuration: configuration, logger: logger)
let echo = EchoDelegate()
engine.delegate = echo
let router = Router {
    ClosureMiddleware { request, context, next in
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = "*"
        return response
    }
    Mount("engine.io", responder: engine)
}
let server = HTTPServer(responder: router, listeners: [Listener(.hostname("127.0.0.1", port: port))], logger: logger) {
    print("LISTENING http://\($0[0].hostAndPort)")
}
try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
