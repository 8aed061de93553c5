import HTTPTypes
import Logging
import PushinatorHTTP
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
        let settings = try AppConfiguration.load(from: nil)
        #expect(settings.port == 8080 && settings.clientToken == "")
    }
}
