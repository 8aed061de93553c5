import EngineIO
import PushinatorKit
import PushinatorRuntime
import Testing

@Suite("PushinatorConfiguration")
struct PushinatorConfigurationTests {
    func configuration(_ text: String) throws -> PushinatorConfiguration {
        let root = try ConfigFileReader().parse(text, source: "test.conf")
        return try PushinatorConfiguration(document: ConfigDocument(root: root, source: "test.conf"))
    }

    @Test func defaultsAreNodePushinatorsExceptTheAdminHost() {
        let defaults = PushinatorConfiguration.defaults
        #expect(defaults.adminHost == "127.0.0.1")
        #expect(defaults.adminPort == 9600)
        #expect(defaults.clientPort == 9601)
        #expect(defaults.transports == [.websocket, .polling])
        #expect(defaults.messageEncoding == .jsonString)
    }

    @Test func transportsAreTypedInTheOrderNamed() throws {
        let polling = try configuration("module.exports = {client: {socketIoTransports: ['xhr-polling', 'jsonp-polling', 'websocket']}}")
        #expect(polling.transports == [EngineIOTransport.polling, .websocket])
        let legacy = try configuration("{client: {socketIoTransports: ['flashsocket', 'websocket']}}")
        #expect(legacy.transports == [.websocket])
        #expect(legacy.warnings.count == 1)
    }

    @Test func unusableTransportsAreErrors() {
        #expect(throws: ConfigError.self) { try configuration("{client: {socketIoTransports: ['carrier-pigeon']}}") }
        #expect(throws: ConfigError.self) { try configuration("{client: {socketIoTransports: ['htmlfile']}}") }
    }

    @Test func sslNeedsAKeyAndACertificate() {
        #expect(throws: ConfigError.self) { try configuration("{client: {useSSL: true}}") }
    }
}
