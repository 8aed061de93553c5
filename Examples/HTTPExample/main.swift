// A small JSON API on PushinatorHTTP: a route group with a parameter, router-level middleware (request log,
// CORS, gzip), JSON in and out, and a WebSocket echo.
//
//   swift run http-example --port 8080 [--tls-cert cert.pem --tls-key key.pem]
//   curl -s localhost:8080/api/rooms/lobby
//   curl -s -X POST localhost:8080/api/rooms/lobby/messages -d '{"text":"hi"}'
//
// Prints `LISTENING http://host:port` once it accepts connections.
import HTTPTypes
import Logging
import Foundation
import PushinatorHTTP
import PushinatorJSON
import PushinatorTLS
import ServiceLifecycle
import Synchronization
import UnixSignals

struct Options {
    var port = 8080
    var certificate: String?
    var key: String?

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--port": options.port = iterator.next().flatMap(Int.init) ?? options.port
            case "--tls-cert": options.certificate = iterator.next()
            case "--tls-key": options.key = iterator.next()
            default:
                if let port = Int(argument) { options.port = port }  // the old positional form
            }
        }
        return options
    }
}

struct NewMessage: Decodable {
    var text: String
}

/// Messages per room, in memory.
final class MessageStore: Sendable {
    private let rooms = Mutex<[String: [String]]>([:])

    func add(_ text: String, to room: String) -> Int {
        rooms.withLock { rooms in
            rooms[room, default: []].append(text)
            return rooms[room]!.count
        }
    }

    func messages(in room: String) -> [String] { rooms.withLock { $0[room] ?? [] } }
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
var logger = Logger(label: "http-example")
logger.logLevel = .info
let store = MessageStore()

let router = Router {
    RequestLogMiddleware(.info)
    CORSMiddleware(exposedHeaders: ["X-Request-Id"])
    CompressionMiddleware()
    Get("hello") { _, _ in "Hello, world!" }
    RouteGroup("api") {
        Get("rooms/:room") { _, context in
            let room = try context.parameters.require("room")
            return JSONValue.object([
                "room": .string(room),
                "messages": .array(store.messages(in: room).map(JSONValue.string)),
            ])
        }
        Post("rooms/:room/messages") { request, context in
            let room = try context.parameters.require("room")
            let message = try request.decode(as: NewMessage.self)
            let count = store.add(message.text, to: room)
            return Response.json(["room": .string(room), "count": .integer(count)], status: .created)
        }
    }
    Get("ws") { _, _ in
        Response.webSocket { socket in
            for await message in socket.messages { socket.send(message) }
        }
    }
}

var security: (any ListenerSecurity)?
if let certificate = options.certificate, let key = options.key {
    do {
        security = try TLSSecurity(certificateChainPath: certificate, privateKeyPath: key)
    } catch {
        logger.critical("\(error)")
        exit(1)
    }
}
let scheme = security == nil ? "http" : "https"

let server = HTTPServer(
    responder: router,
    listeners: [Listener(.hostname("127.0.0.1", port: options.port), security: security)],
    logger: logger
) { addresses in
    StandardOutput.writeLine("LISTENING \(scheme)://\(addresses[0].hostAndPort)")
}
try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
