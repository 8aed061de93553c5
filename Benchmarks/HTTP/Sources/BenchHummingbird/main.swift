// Hummingbird 2 with the same routes as BenchPushinator. One event loop thread.
import Foundation
import Hummingbird
import Logging
import NIOPosix

let arguments = CommandLine.arguments
let port = arguments.firstIndex(of: "--port").flatMap { Int(arguments[$0 + 1]) } ?? 8082

let router = Router()
router.get("hello") { _, _ in "Hello, world!" }
router.get("users/:id/posts/:post") { _, context in
    "user \(try context.parameters.require("id")) post \(try context.parameters.require("post"))"
}
for index in 0..<98 {
    router.get("resource\(index)/:id/items/:item") { _, context in
        "resource \(index) \(try context.parameters.require("id"))"
    }
}

var logger = Logger(label: "bench-hummingbird")
logger.logLevel = .warning
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port)),
    onServerRunning: { channel in
        FileHandle.standardOutput.write(Data("LISTENING http://127.0.0.1:\(channel.localAddress?.port ?? port)\n".utf8))
    },
    eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 1)),
    logger: logger
)
try await app.runService()
