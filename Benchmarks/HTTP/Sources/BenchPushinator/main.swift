// Pushinator's HTTP server with the benchmark routes: GET /hello and 100 routes including
// GET /users/:id/posts/:post. One event loop thread (pin the process with taskset).
import Foundation
import Logging
import NIOPosix
import PushinatorHTTP
import ServiceLifecycle

let arguments = CommandLine.arguments
let port = arguments.firstIndex(of: "--port").flatMap { Int(arguments[$0 + 1]) } ?? 8081
var logger = Logger(label: "bench-pushinator")
logger.logLevel = .warning

let router = Router {
    Get("hello") { _, _ in "Hello, world!" }
    Get("users/:id/posts/:post") { _, context in
        "user \(try context.parameters.require("id")) post \(try context.parameters.require("post"))"
    }
    for index in 0..<98 {
        Get("resource\(index)/:id/items/:item") { _, context in "resource \(index) \(try context.parameters.require("id"))" }
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = HTTPServer(
    responder: router,
    listeners: [Listener(.hostname("127.0.0.1", port: port))],
    eventLoopGroup: group,
    logger: logger
) { addresses in
    StandardOutput.writeLine("LISTENING http://\(addresses[0].hostAndPort)")
}
try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
