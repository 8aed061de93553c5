import Foundation
import Logging
import PushinatorCluster
import PushinatorHTTP
import PushinatorKit
import PushinatorRuntime
import PushinatorSocketIO
import Testing

/// How the app loads its configuration (file, environment, command line) and what it makes of it at start.
@Suite("PushinatorConfiguration loading")
struct PushinatorConfigurationLoadingTests {
    /// A file with `text` in a fresh temporary directory; `body` gets its path.
    func withFile(_ text: String, _ body: (String) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "pushinator-kit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/pushinator.conf"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try body(path)
    }

    let noEnvironment = EnvironmentOverrides(prefix: "PUSHINATOR", variables: [:])

    @Test func withoutAFileTheEmbeddedDefaultsAreUsed() throws {
        let (settings, source) = try PushinatorConfiguration.load(path: nil, defaultFile: "/nonexistent/pushinator.conf", environment: noEnvironment)
        #expect(source == PushinatorConfiguration.embeddedDefaults)
        #expect(settings == .defaults)
    }

    @Test func theDefaultFileIsReadWhenNoneIsNamed() throws {
        try withFile("module.exports = {client: {port: 7001}}") { path in
            let (settings, source) = try PushinatorConfiguration.load(path: nil, defaultFile: path, environment: noEnvironment)
            #expect(source == path)
            #expect(settings.clientPort == 7001)
        }
    }

    @Test func theEnvironmentOverridesTheFileAndTheCommandLineBoth() throws {
        try withFile("{admin: {port: 7000}, client: {port: 7001}, log: {debug: false}}") { path in
            let environment = EnvironmentOverrides(prefix: "PUSHINATOR", variables: ["PUSHINATOR_ADMIN_PORT": "7100", "PUSHINATOR_LOG_DEBUG": "true"])
            let fromEnvironment = try PushinatorConfiguration.load(path: path, environment: environment).settings
            #expect(fromEnvironment.adminPort == 7100 && fromEnvironment.clientPort == 7001)
            #expect(fromEnvironment.logLevel == .debug)
            let ports = PushinatorConfiguration.PortOverrides(admin: 0, client: 0)
            let fromCommandLine = try PushinatorConfiguration.load(path: path, environment: environment, ports: ports).settings
            #expect(fromCommandLine.adminPort == 0 && fromCommandLine.clientPort == 0)
            // a reload reads the file again with the same overrides
            #expect(try PushinatorConfiguration.read(path: path, environment: environment, ports: ports) == fromCommandLine)
        }
    }

    @Test func aFileThatCannotBeUsedIsAFailureNamingIt() throws {
        try withFile("{client: {port: 'many'}}") { path in
            let failure = #expect(throws: ConfigurationFailure.self) {
                try PushinatorConfiguration.load(path: path, environment: noEnvironment)
            }
            #expect(failure?.message.contains(path) == true)
            #expect(failure?.message.contains("client.port") == true)
        }
        #expect(throws: ConfigurationFailure.self) {
            try PushinatorConfiguration.load(path: "/nonexistent/pushinator.conf", environment: noEnvironment)
        }
    }

    /// Templates/deploy/pushinator.conf lists every key with its default, but for the values a deployment changes (which
    /// its comments name).
    @Test func theDeploymentTemplateSaysTheDefaults() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let template = repository.appendingPathComponent("Templates/deploy/pushinator.conf").path
        var settings = try PushinatorConfiguration.load(path: template, environment: noEnvironment).settings
        #expect(settings.warnings.isEmpty)
        #expect(settings.pidFile == "/run/pushinator/pushinator.pid" && settings.clientHost == "127.0.0.1")
        #expect(settings.logFile == "/var/log/pushinator/pushinator.log")
        #expect(settings.trustedProxies.entries == ["127.0.0.1", "::1"])
        let defaults = PushinatorConfiguration.defaults
        (settings.pidFile, settings.pidFileIsSet) = (defaults.pidFile, defaults.pidFileIsSet)
        (settings.clientHost, settings.logFile, settings.trustedProxies) = (defaults.clientHost, defaults.logFile, defaults.trustedProxies)
        #expect(settings == defaults)
    }

    @Test func logsGoToStandardOutputSyslogAndTheFileAsConfigured() throws {
        try withFile("") { path in
            let directory = (path as NSString).deletingLastPathComponent
            var settings = PushinatorConfiguration.defaults
            #expect(settings.logLevel == .info)
            #expect(try ProcessLogging(destination: settings.logDestination(standardOutput: true), level: .info).destination.files.isEmpty)
            settings.logFile = directory + "/pushinator.log"
            let logging = try ProcessLogging(destination: settings.logDestination(standardOutput: false), level: .info)
            #expect(logging.destination.files.count == 1)
            #expect(FileManager.default.fileExists(atPath: directory + "/pushinator.log"))
        }
    }

    @Test func theClusterSectionMakesTheClustersSettings() throws {
        #expect(PushinatorConfiguration.defaults.socketIOClusterConfiguration == nil)
        var settings = PushinatorConfiguration.defaults
        settings.cluster = ClusterSettings(postgres: "postgres://db/push", timeout: 3_000, heartbeatInterval: 1_000, heartbeatTimeout: 4_000, waitForLog: true)
        let cluster = try #require(settings.socketIOClusterConfiguration)
        #expect(cluster.membership.heartbeatInterval == .seconds(1))
        #expect(cluster.membership.heartbeatTimeout == .seconds(4))
        #expect(cluster.membership.requestTimeout == .seconds(3))
        #expect(cluster.waitForPublishWhenAlone)
        // the log keeps what a client recovered on another node replays: the recovery window and a minute
        settings.recoveryMaxDisconnection = 120_000
        #expect(settings.minimumClusterLogRetention == .seconds(180))
        settings.recoveryMaxDisconnection = 0
        #expect(settings.minimumClusterLogRetention == nil)
    }
}
