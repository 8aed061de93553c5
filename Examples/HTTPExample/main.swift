import HTTPTypes
import Logging
import PushinatorHTTP
import ServiceLifecycle
import UnixSignals

var logger = Logger(label: "http-example")
logger.logLevel = .info
let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 8080

let router = Router {
    Get("hello") { _, _ in "Hello, world!" }
    RouteGroup("api") {
        Get("rooms/:room") { _, context in try context.parameters.require("room") }
        Post("echo") { request, _ in request.body.buffer }
    }
    Get("ws") { _, _ in
        Response.webSocket { socket in
            for await message in socket.messages { socket.send(message) }
        }
    }
}

let server = HTTPServer(responder: router, listeners: [Listener(.hostname("127.0.0.1", port: port))], logger: logger) {
    addresses in StandardOutput.writeLine("LISTENING http://\(addresses[0].hostAndPort)")
}
try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
