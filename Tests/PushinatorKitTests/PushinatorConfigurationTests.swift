import EngineIO
import PushinatorHTTP
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

    @Test func trustedProxiesAreParsedAndBadEntriesNamed() throws {
        let settings = try configuration("{client: {trustedProxies: ['127.0.0.1', '10.0.0.0/8']}}")
        #expect(settings.trustedProxies.contains("10.2.3.4"))
        #expect(!settings.trustedProxies.contains("192.0.2.1"))
        #expect(throws: ConfigError.self) { try configuration("{client: {trustedProxies: ['10.0.0.0/40']}}") }
    }

    @Test func aPidfileNamingADirectoryMeansPushinatorPidInside() throws {
        let settings = try configuration("{pidfile: '/tmp/'}")
        #expect(settings.pidFile == "/tmp/pushinator.pid")
        #expect(settings.pidFileIsSet)
        #expect(settings.warnings.contains { $0.contains("is a directory") })
        #expect(!PushinatorConfiguration.defaults.pidFileIsSet)
    }

    @Test func unknownKeysAreWarnedWithTheClosestKnownKey() throws {
        let settings = try configuration("{users: {idleTimeot: 5}, log: {syslog: {hostname: 'h'}}}")
        #expect(settings.warnings == ["unknown configuration key users.idleTimeot (did you mean users.idleTimeout?)"])
    }

    @Test func aReloadAppliesOnlyTheLiveKeys() throws {
        let running = try configuration("{threads: 2, admin: {token: 'a'}, client: {port: 9000}}")
        let fresh = try configuration("{threads: 4, admin: {token: 'b'}, client: {port: 9001, trustedProxies: ['::1']}}")
        let applied = Reloader.applyingLive(fresh, to: running)
        #expect(applied.adminToken == "b" && applied.trustedProxies.contains("::1"))
        #expect(applied.threads == 2 && applied.clientPort == 9000)
        let changed = Reloader.restartOnly.filter { $0.value(running) != $0.value(fresh) }.map(\.key)
        #expect(changed == ["threads", "client.port"])
    }
}
