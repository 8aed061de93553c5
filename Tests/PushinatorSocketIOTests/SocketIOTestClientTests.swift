import EngineIO
import Logging
import NIOCore
import PushinatorHTTP
import PushinatorJSON
import PushinatorSocketIO
import PushinatorTesting
import Testing

/// The Swift Socket.IO test client against a real ``SocketIOServer``: live on 127.0.0.1 (or in process, polling).
@Suite("Socket.IO test client")
struct SocketIOTestClientTests {
    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// A server whose `/` namespace echoes with acks, joins rooms, relays to rooms and asks the client back;
    /// `/private` requires `auth.token == "secret"`.
    static func makeServer() -> SocketIOServer {
        let io = SocketIOServer(logger: logger)
        io.namespace("/") { main in
            main.on("echo") { _, event in event.ack(event.arguments) }
            main.on("join") { socket, event in
                socket.join(try event.argument(0, as: String.self))
                event.ack([])
            }
            main.on("shout") { socket, event in
                _ = socket.to(try event.argument(0, as: String.self)).emit("shout", Array(event.arguments.dropFirst()))
            }
            main.on("ask") { socket, _ in
                let answer = try await socket.emitWithAck("question", ["how are you?"], timeout: .seconds(5))
                socket.emit("answered", answer)
            }
            main.on("leave") { socket, _ in socket.disconnect() }
        }
        io.namespace("/private") { secret in
            secret.use { socket in
                guard socket.handshake.auth.object?["token"]?.string == "secret" else {
                    throw ConnectError("unauthorized", data: ["code": 401])
                }
            }
            secret.on("whoami") { socket, event in event.ack([.string(socket.id)]) }
        }
        return io
    }

    /// Runs `body` against a live server on 127.0.0.1 serving `io`.
    static func live(_ io: SocketIOServer, _ body: (any TestClient) async throws -> Void) async throws {
        let router = Router { io.routes() }
        try await router.test(.live(), logger: logger) { http in
            defer { io.engine.closeAllSessions() }
            try await body(http)
        }
    }

    @Test(arguments: [SocketIOTestTransport.webSocket, .pollingThenWebSocket, .polling])
    func connectMiddlewareRefusalIsConnectError(transport: SocketIOTestTransport) async throws {
        try await Self.live(Self.makeServer()) { http in
            do {
                let refused = try await SocketIOTestClient.connect(
                    to: http,
                    namespace: "/private",
                    auth: ["token": "wrong"],
                    transport: transport
                )
                await refused.close()
                Issue.record("connected without the token")
            } catch SocketIOTestError.connectRefused(let message, let data) {
                #expect(message == "unauthorized")
                #expect(data == ["code": 401])
            }
            let client = try await SocketIOTestClient.connect(
                to: http,
                namespace: "/private",
                auth: ["token": "secret"],
                transport: transport
            )
            #expect(try await client.emitWithAck("whoami", []) == [.string(client.id)])
            #expect(client.isWebSocket == (transport != .polling))
            await client.disconnect()
        }
    }

    @Test func acksBothWays() async throws {
        try await Self.live(Self.makeServer()) { http in
            let client = try await SocketIOTestClient.connect(to: http)
            #expect(client.isWebSocket)
            #expect(try await client.emitWithAck("echo", ["hello", 42]) == ["hello", 42])
            try await client.emit("ask")
            let question = try await client.nextEvent()
            #expect(question.name == "question")
            #expect(question.arguments == ["how are you?"])
            #expect(question.wantsAck)
            try await client.ack(question, ["fine", true])
            let answered = try await client.nextEvent(named: "answered")
            #expect(answered.arguments == ["fine", true])
            await client.disconnect()
        }
    }

    @Test func roomBroadcastReachesOnlyTheOtherMembers() async throws {
        let io = Self.makeServer()
        try await Self.live(io) { http in
            let alice = try await SocketIOTestClient.connect(to: http, transport: .webSocket)
            let bob = try await SocketIOTestClient.connect(to: http, transport: .polling)
            let carol = try await SocketIOTestClient.connect(to: http, transport: .webSocket)
            _ = try await alice.emitWithAck("join", ["lobby"])
            _ = try await bob.emitWithAck("join", ["lobby"])
            try await alice.emit("shout", "lobby", "hi all")
            let heard = try await bob.nextEvent()
            #expect(heard == SocketIOTestEvent(name: "shout", arguments: ["hi all"]))
            // Whatever reaches every socket after the shout must be the next event of those it skipped.
            #expect(io.of("/").emit("done", []) == 3)
            #expect(try await alice.nextEvent().name == "done")
            #expect(try await carol.nextEvent().name == "done")
            #expect(try await bob.nextEvent().name == "done")
            for client in [alice, bob, carol] { await client.disconnect() }
        }
    }

    @Test(arguments: [SocketIOTestTransport.webSocket, .polling])
    func binaryAttachmentsBothWays(transport: SocketIOTestTransport) async throws {
        try await Self.live(Self.makeServer()) { http in
            let client = try await SocketIOTestClient.connect(to: http, transport: transport)
            let bytes = ByteBuffer(bytes: [0, 1, 2, 0xFF, 0xFE])
            let arguments: [JSONValue] = [.binary(bytes), ["nested": .binary(ByteBuffer(string: "two")), "n": 2]]
            #expect(try await client.emitWithAck("echo", arguments) == arguments)
            await client.disconnect()
        }
    }

    @Test func inProcessPolling() async throws {
        let io = Self.makeServer()
        let router = Router { io.routes() }
        try await router.test(logger: Self.logger) { http in
            defer { io.engine.closeAllSessions() }
            let client = try await SocketIOTestClient.connect(to: http)
            #expect(!client.isWebSocket)
            #expect(try await client.emitWithAck("echo", [.binary(ByteBuffer(string: "raw"))]) == [.binary(ByteBuffer(string: "raw"))])
            await #expect(throws: SocketIOTestError.self) {
                try await SocketIOTestClient.connect(to: http, transport: .webSocket)
            }
            await client.disconnect()
        }
    }

    @Test func serverDisconnectEndsTheSocket() async throws {
        try await Self.live(Self.makeServer()) { http in
            let client = try await SocketIOTestClient.connect(to: http, transport: .webSocket)
            try await client.emit("leave")
            #expect(try await client.disconnected() == "io server disconnect")
            await #expect(throws: SocketIOTestError.self) { try await client.nextEvent(timeout: .seconds(1)) }
            await #expect(throws: SocketIOTestError.self) { try await client.emit("echo") }
        }
    }

    @Test func nextEventTimesOut() async throws {
        try await Self.live(Self.makeServer()) { http in
            let client = try await SocketIOTestClient.connect(to: http, transport: .webSocket)
            await #expect(throws: SocketIOTestError.self) { try await client.nextEvent(timeout: .milliseconds(50)) }
            #expect(try await client.emitWithAck("echo", ["still here"]) == ["still here"])
            await client.disconnect()
        }
    }
}
