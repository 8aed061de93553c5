import EngineIO
import Foundation
import HTTPTypes
import Logging
import PushinatorHTTP
import PushinatorJSON
import PushinatorRuntime
import PushinatorSocketIO
import PushinatorTesting
import Testing
import __NAME__Core

@Suite("__NAME__")
struct AppTests {
    static func make(token: String = "") -> App {
        var configuration = AppConfiguration()
        configuration.clientToken = token
        return App(configuration: configuration, logger: Logger(label: "test"))
    }

    @Test func healthAnswersOK() async throws {
        try await Self.make().router.test { client in
            let response = try await client.execute(.get, "/health")
            #expect(response.status == .ok)
            #expect(response.text == #"{"status":"ok"}"#)
        }
    }

    @Test func pushReportsHowManyClientsItReached() async throws {
        try await Self.make().router.test { client in
            let response = try await client.execute(.post, "/push/news", body: #"{"text":"hi"}"#)
            #expect(response.status == .ok)
            #expect(response.text == #"{"delivered":0}"#)
        }
    }

    @Test func pushRefusesABodyThatIsNotJSON() async throws {
        try await Self.make().router.test { (client) async throws in
            #expect(try await client.execute(.post, "/push/news", body: "not json").status == .badRequest)
        }
    }

    @Test func configurationComesFromTheFileThenTheEnvironment() throws {
        let path = NSTemporaryDirectory() + "__NAME_LOWER__-\(UUID().uuidString).conf"
        try "module.exports = { port: 9000, clientToken: 'from-file' }".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = EnvironmentOverrides(prefix: "__NAME_UPPER__", variables: ["__NAME_UPPER___PORT": "9001"])
        let settings = try AppConfiguration.load(from: path, environment: environment)
        #expect(settings.port == 9001 && settings.clientToken == "from-file")
        let defaults = try AppConfiguration.load(from: nil, environment: EnvironmentOverrides(prefix: "__NAME_UPPER__", variables: [:]))
        #expect(defaults.port == 8080 && defaults.clientToken == "")
    }

    /// A Socket.IO client against the router: in process (polling, no socket), then on a live server on 127.0.0.1
    /// (polling, then WebSocket, as the official clients do). Connect middleware, a room, a push.
    @Test(arguments: [false, true])
    func aClientWithTheTokenJoinsARoomAndGetsItsPushes(live: Bool) async throws {
        let app = Self.make(token: "t0ken")
        try await app.router.test(live ? .live() : .inProcess) { http in
            defer { app.io.engine.closeAllSessions() }
            await #expect(throws: SocketIOTestError.self) {
                try await SocketIOTestClient.connect(to: http, auth: ["token": "wrong"])
            }
            let client = try await SocketIOTestClient.connect(to: http, auth: ["token": "t0ken"])
            #expect(try await client.emitWithAck("join", ["news"]) == [["ok": true]])
            let response = try await http.execute(.post, "/push/news", body: #"{"text":"hi"}"#)
            #expect(response.text == #"{"delivered":1}"#)
            #expect(try await client.nextEvent(named: "push").arguments == [["text": "hi"]])
            await client.disconnect()
        }
    }
}
