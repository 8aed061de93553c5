// The Socket.IO server the interop tests (Tests/Interop) run real clients against; the contract is in
// Tests/Interop/README.md. Every event here exercises one feature of the toolkit.
import ArgumentParser
import EngineIO
import HTTPTypes
import Logging
import NIOCore
import PushinatorHTTP
import PushinatorJSON
import PushinatorSocketIO
import PushinatorTLS
import ServiceLifecycle
import UnixSignals

@main
struct InteropServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interop-server",
        abstract: "A Socket.IO server implementing the interop test contract."
    )

    @Option(help: "The port (0 picks a free one).") var port = 0
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "Ping interval in milliseconds.") var pingInterval = 25_000
    @Option(help: "Ping timeout in milliseconds.") var pingTimeout = 20_000
    @Option(help: "Allowed transports, comma-separated.") var transports = "polling,websocket"
    @Option(help: "The largest payload in bytes.") var maxPayload = 1_000_000
    @Flag(help: "Also accept Engine.IO v3 (socket.io 2.x) clients.") var eio3 = false
    @Option(help: "TLS certificate chain (PEM).") var tlsCert: String?
    @Option(help: "TLS private key (PEM).") var tlsKey: String?
    @Flag(help: "Set the Engine.IO session cookie `io` on handshakes.") var cookie = false
    @Option(help: "Refuse handshakes whose Origin header is this value (allowRequest hook).") var refuseOrigin: String?
    @Flag(help: "Debug logging.") var verbose = false
    @Option(help: "Connection state recovery: how long a dropped session is kept, in milliseconds (0: off).")
    var recoveryMs = 0
    @Option(help: "Connection state recovery: the most events kept per namespace.") var recoveryMaxPackets = 10_000
    @Option(help: "How long a client may take to send a request head, in milliseconds.")
    var requestHeadTimeoutMs = 10_000
    @Option(help: "How long an idle keep-alive connection (or a stalled request body) is kept, in milliseconds.")
    var idleTimeoutMs = 60_000
    @Option(help: "The most simultaneous connections.") var maxConnections = 16_384
    @Option(help: "The most simultaneous connections from one address (default: no limit).")
    var maxConnectionsPerAddress: Int?
    @Option(help: "An address or CIDR block exempt from the per-address limit (repeatable; default: none).")
    var connectionLimitExempt: [String] = []
    @Option(help: "How long responses may wait for a client that does not read them, in milliseconds.")
    var writeTimeoutMs = 30_000
    @Option(help: "The response bytes queued for a client past which its connection stops reading requests.")
    var maxQueuedResponseBytes = 64 * 1024
    @Option(help: "How long graceful shutdown waits for connections to finish, in milliseconds.")
    var gracefulShutdownTimeoutMs = 10_000
    @Option(help: "The most bytes queued for a client that does not read; past it the session is closed.")
    var maxBufferedBytes = 4 << 20
    @Option(help: "How long a client may stay without joining a namespace, in milliseconds.")
    var connectTimeoutMs = 45_000
    @Option(help: "The origins CORS allows, comma-separated (default: any origin, reflected, with credentials).")
    var corsOrigins: String?
    @Option(help: "The most bytes one connection's unfinished binary packet may hold.")
    var maxPendingBinaryBytes = 8 << 20
    @Option(help: "The most bytes the unfinished binary packets of all connections may hold together.")
    var maxPendingBinaryBytesTotal = 64 << 20
    @Option(help: "How long a binary packet may wait for its attachments, in milliseconds.")
    var binaryAttachmentTimeoutMs = 30_000
    @Option(help: "The process-wide memory budget in bytes for what clients make the server hold (default: no limit).")
    var memoryBudget: Int?

    func run() async throws {
        var logger = Logger(label: "interop-server")
        logger.logLevel = verbose ? .debug : .info
        MemoryBudget.shared.setLimit(memoryBudget)

        let refused = refuseOrigin
        let engine = EngineIOConfiguration(
            pingInterval: .milliseconds(pingInterval),
            pingTimeout: .milliseconds(pingTimeout),
            maxPayload: maxPayload,
            transports: transports.split(separator: ",").map { $0 == "websocket" ? .websocket : .polling },
            allowEIO3: eio3,
            maxBufferedBytes: maxBufferedBytes,
            cookie: cookie ? EngineIOCookie() : nil,
            allowRequest: { request, _ in
                refused != nil && request.headers[.origin] == refused ? .refuse("Origin not allowed") : .allow
            }
        )
        let recovery = recoveryMs > 0
            ? ConnectionStateRecovery(maxDisconnectionDuration: .milliseconds(recoveryMs), maxPackets: recoveryMaxPackets)
            : nil
        let io = SocketIOServer(
            configuration: .init(
                engine: engine,
                connectTimeout: .milliseconds(connectTimeoutMs),
                maxPendingBinaryBytes: maxPendingBinaryBytes,
                maxPendingBinaryBytesTotal: maxPendingBinaryBytesTotal,
                binaryAttachmentTimeout: .milliseconds(binaryAttachmentTimeoutMs),
                recovery: recovery
            ),
            logger: logger
        )
        configureMain(io.of("/"))
        configureAdmin(io.of("/admin"))

        let origins: CORSMiddleware.AllowedOrigins =
            corsOrigins.map { .list($0.split(separator: ",").map(String.init)) } ?? .any
        let router = Router {
            CORSMiddleware(allowedOrigins: origins, allowedMethods: [.get, .post, .options], allowCredentials: true)
            io.routes(at: "socket.io")
            // what the process-wide memory budget holds now, for tests that size their load from it
            Get("memory-budget") { _, _ in
                Response.json([
                    "held": .integer(MemoryBudget.shared.reserved),
                    "limit": MemoryBudget.shared.limit.map { JSONValue.integer($0) } ?? .null,
                ])
            }
        }
        let security = try Self.security(certificate: tlsCert, key: tlsKey)
        let scheme = security == nil ? "http" : "https"
        let limits = HTTPServerConfiguration(
            requestHeadTimeout: .milliseconds(requestHeadTimeoutMs),
            idleTimeout: .milliseconds(idleTimeoutMs),
            gracefulShutdownTimeout: .milliseconds(gracefulShutdownTimeoutMs),
            maxConnections: maxConnections,
            maxConnectionsPerAddress: maxConnectionsPerAddress,
            connectionLimitExemptions: try connectionLimitExempt.map { text in
                guard let range = AddressRange(text) else { throw ValidationError("not an address or CIDR block: \(text)") }
                return range
            },
            maxQueuedResponseBytes: maxQueuedResponseBytes,
            writeTimeout: .milliseconds(writeTimeoutMs)
        )
        let server = HTTPServer(
            responder: router,
            listeners: [Listener(.hostname(host, port: port), security: security)],
            configuration: limits,
            logger: logger
        ) { addresses in
            StandardOutput.writeLine("LISTENING \(scheme)://\(addresses[0].hostAndPort)")
        }
        try await ServiceGroup(services: [server, io], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }

    private func configureMain(_ main: Namespace) {
        main.use { socket in
            if socket.handshake.auth["token"]?.string == "bad" {
                throw ConnectError("unauthorized", data: ["code": 401])
            }
        }
        // a socket whose data says so is not taken back (Namespace.allowRecovery)
        main.allowRecovery { session in session.data["refuseRecovery"]?.bool != true }
        main.onConnection { socket in
            if socket.handshake.auth["quiet"]?.bool == true { return }  // a client that must receive no event
            socket.emit("welcome", ["sid": .string(socket.id), "auth": socket.handshake.auth])
        }
        main.on("echo") { socket, event in socket.emit("echo", event.arguments) }
        main.on("ack-echo") { _, event in event.ack(event.arguments) }
        main.on("join", as: String.self) { socket, room in
            socket.join(room)
            return "joined"
        }
        main.on("leave", as: String.self) { socket, room in
            socket.leave(room)
            return "left"
        }
        main.on("to-room") { _, event in
            let room = try event.argument(0, as: String.self)
            main.to(room).emit("room-message", [event.arguments.count > 1 ? event.arguments[1] : .null])
            event.ack("sent")
        }
        main.on("to-room-count") { _, event in  // like to-room, acks how many sockets it was sent to
            let room = try event.argument(0, as: String.self)
            event.ack(.integer(main.to(room).emit("room-message", [event.arguments.count > 1 ? event.arguments[1] : .null])))
        }
        main.on("room-size") { _, event in  // the number of sockets in a room, sending nothing
            event.ack(.integer(main.to(try event.argument(0, as: String.self)).sockets.count))
        }
        main.on("server-ack") { socket, event in
            let payload = event.arguments.first ?? .null
            do {
                let answer = try await socket.emitWithAck("ask", [payload], timeout: .seconds(5))
                socket.emit("ask-result", [answer.first ?? .null])
            } catch {
                socket.emit("ask-result", ["error": "timeout"])
            }
        }
        main.on("resumes-on-loop") { socket, event in  // after a real suspension: still on the session's loop?
            try await Task.sleep(for: .milliseconds(5))
            event.ack(.bool(socket.eventLoop.inEventLoop))
        }
        main.on("binary-request") { socket, _ in
            var bytes = ByteBuffer()
            for value in 0...255 { bytes.writeInteger(UInt8(value)) }
            socket.emit("binary", [.binary(bytes), ["nested": .binary(bytes)]])
        }
        main.on("disconnect-me") { socket, _ in socket.disconnect() }
        main.on("recovery-state") { socket, event in  // what connection state recovery restored
            event.ack(["id": .string(socket.id), "recovered": .bool(socket.recovered), "data": socket.data,
                       "pid": socket.pid.map(JSONValue.string) ?? .null,
                       "rooms": .array(socket.rooms.sorted().map(JSONValue.string))])
        }
        main.on("set-data") { socket, event in
            socket.data = event.arguments.first ?? .null
            event.ack("ok")
        }
        main.on("burst") { _, event in  // [room ("" for everyone), count, label]: count "burst" events [label, i]
            let room = try event.argument(0, as: String.self)
            let count = min(max(try event.argument(1, as: Int.self), 0), 10_000)
            let label = event.arguments.count > 2 ? event.arguments[2] : .null
            let target = room.isEmpty ? main.except() : main.to(room)
            for index in 0..<count { target.emit("burst", [label, .integer(index)]) }
            event.ack(.integer(count))
        }
        main.on("volatile-to-room") { _, event in
            let room = try event.argument(0, as: String.self)
            main.to(room).volatile.emit("room-message", [event.arguments.count > 1 ? event.arguments[1] : .null])
            event.ack("sent")
        }
        main.on("acks-from-room") { _, event in  // [room, timeout ms]: asks every socket in room, acks the tally
            let room = try event.argument(0, as: String.self)
            let timeout = try event.argument(1, as: Int.self)
            let acks = await main.to(room).emitWithAck("ask", ["tally"], timeout: .milliseconds(timeout))
            event.ack(["expected": .integer(acks.expected), "responses": .array(acks.responses.map(JSONValue.array))])
        }
        main.on("drop-transport") { socket, _ in socket.dropConnection() }
    }

    private func configureAdmin(_ admin: Namespace) {
        admin.onConnection { socket in socket.emit("welcome-admin", ["sid": .string(socket.id)]) }
        admin.on("echo") { socket, event in socket.emit("echo", event.arguments) }
    }

    static func security(certificate: String?, key: String?) throws -> (any ListenerSecurity)? {
        guard let certificate, let key else { return nil }
        return try TLSSecurity(certificateChainPath: certificate, privateKeyPath: key)
    }
}
