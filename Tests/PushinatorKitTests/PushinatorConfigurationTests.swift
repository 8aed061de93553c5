import EngineIO
import PushinatorHTTP
import PushinatorJSON
import PushinatorKit
import PushinatorRuntime
import PushinatorSocketIO
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

    @Test func metricsAreOnByDefaultAndAKeyOrTheEnvironmentTurnsThemOff() throws {
        #expect(PushinatorConfiguration.defaults.adminMetrics)
        let off = try configuration("{admin: {metrics: false}}")
        #expect(!off.adminMetrics && off.warnings.isEmpty)
        #expect(throws: ConfigError.self) { try configuration("{admin: {metrics: 'maybe'}}") }
        let environment = EnvironmentOverrides(prefix: "PUSHINATOR", variables: ["PUSHINATOR_ADMIN_METRICS": "false"])
        let document = ConfigDocument(root: .object([:]), source: "embedded defaults", environment: environment)
        #expect(try !PushinatorConfiguration(document: document).adminMetrics)
        // read at start only: a reload names it
        let changed = Reloader.restartOnly.filter { $0.value(.defaults) != $0.value(off) }.map(\.key)
        #expect(changed == ["admin.metrics"])
    }

    @Test func transportsAreTypedInTheOrderNamed() throws {
        let polling = try configuration("module.exports = {client: {socketIoTransports: ['xhr-polling', 'jsonp-polling', 'websocket']}}")
        #expect(polling.transports == [EngineIOTransport.polling, .websocket])
        let legacy = try configuration("{client: {socketIoTransports: ['flashsocket', 'websocket']}}")
        #expect(legacy.transports == [.websocket])
        #expect(legacy.warnings.count == 1)
    }

    @Test func recoveryIsOnForTwoMinutesByDefaultAndOffAtZero() throws {
        let defaults = PushinatorConfiguration.defaults.socketIOConfiguration
        #expect(defaults.recovery?.maxDisconnectionDuration == .seconds(120))
        #expect(defaults.recovery?.skipMiddlewares == true)
        #expect(defaults.engine.transports == [.websocket, .polling])
        let short = try configuration("{client: {recovery: {maxDisconnectionDuration: 1500}, socketIoTransports: ['websocket']}}")
        #expect(short.socketIOConfiguration.recovery?.maxDisconnectionDuration == .milliseconds(1500))
        #expect(short.socketIOConfiguration.engine.transports == [.websocket])
        let off = try configuration("{client: {recovery: {maxDisconnectionDuration: 0}}}")
        #expect(off.socketIOConfiguration.recovery == nil)
        #expect(throws: ConfigError.self) { try configuration("{client: {recovery: {maxDisconnectionDuration: -1}}}") }
    }

    @Test func recoveryLimitsHaveTheirDefaultsAndKnobs() throws {
        let defaults = try #require(PushinatorConfiguration.defaults.socketIOConfiguration.recovery)
        #expect(defaults.maxPackets == 10_000 && defaults.maxBytes == 64 << 20 && defaults.maxSessions == 100_000)
        let set = try configuration("{client: {recovery: {maxDisconnectionDuration: 5000, maxMessages: 50, maxBytes: 65536, maxSessions: 7}}}")
        #expect(set.warnings.isEmpty)  // every key is known
        let recovery = try #require(set.socketIOConfiguration.recovery)
        #expect(recovery.maxDisconnectionDuration == .seconds(5))
        #expect(recovery.maxPackets == 50 && recovery.maxBytes == 65536 && recovery.maxSessions == 7)
        #expect(throws: ConfigError.self) { try configuration("{client: {recovery: {maxMessages: 0}}}") }
        #expect(throws: ConfigError.self) { try configuration("{client: {recovery: {maxBytes: 'lots'}}}") }
        let environment = EnvironmentOverrides(
            prefix: "PUSHINATOR",
            variables: ["PUSHINATOR_CLIENT_RECOVERY_MAX_SESSIONS": "12", "PUSHINATOR_CLIENT_RECOVERY_MAX_BYTES": "2048"]
        )
        let fromEnvironment = try PushinatorConfiguration(
            document: ConfigDocument(root: .object([:]), source: "embedded defaults", environment: environment)
        )
        #expect(fromEnvironment.socketIOConfiguration.recovery?.maxSessions == 12)
        #expect(fromEnvironment.socketIOConfiguration.recovery?.maxBytes == 2048)
        let typo = try configuration("{client: {recovery: {maxMesages: 5}}}")
        #expect(typo.warnings == ["unknown configuration key client.recovery.maxMesages (did you mean client.recovery.maxMessages?)"])
    }

    @Test func webSocketTimeoutsHaveTheirDefaultsAndKnobs() throws {
        let defaults = PushinatorConfiguration.defaults.socketIOConfiguration.engine
        #expect(defaults.webSocketWriteTimeout == .seconds(30) && defaults.webSocketCloseTimeout == .seconds(3))
        let set = try configuration("{client: {webSocketWriteTimeout: 4000, webSocketCloseTimeout: 500}}")
        #expect(set.warnings.isEmpty)
        #expect(set.socketIOConfiguration.engine.webSocketWriteTimeout == .seconds(4))
        #expect(set.socketIOConfiguration.engine.webSocketCloseTimeout == .milliseconds(500))
        #expect(throws: ConfigError.self) { try configuration("{client: {webSocketCloseTimeout: 10}}") }
        let environment = EnvironmentOverrides(prefix: "PUSHINATOR", variables: ["PUSHINATOR_CLIENT_WEB_SOCKET_WRITE_TIMEOUT": "7000"])
        let fromEnvironment = try PushinatorConfiguration(
            document: ConfigDocument(root: .object([:]), source: "embedded defaults", environment: environment)
        )
        #expect(fromEnvironment.socketIOConfiguration.engine.webSocketWriteTimeout == .seconds(7))
        // read at start only: a reload names them
        let changed = Reloader.restartOnly.filter { $0.value(try! configuration("{}")) != $0.value(set) }.map(\.key)
        #expect(changed == ["client.webSocketWriteTimeout", "client.webSocketCloseTimeout"])
        let recovery = Reloader.restartOnly.filter {
            $0.value(try! configuration("{}")) != $0.value(try! configuration("{client: {recovery: {maxMessages: 5, maxBytes: 4096, maxSessions: 3}}}"))
        }.map(\.key)
        #expect(recovery == ["client.recovery.maxMessages", "client.recovery.maxBytes", "client.recovery.maxSessions"])
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

    @Test func limitsHaveTheirDocumentedDefaults() {
        let defaults = PushinatorConfiguration.defaults
        #expect(defaults.memoryBudget == 1 << 30)
        #expect(defaults.memoryBudgetLimit == 1 << 30)
        for limits in [defaults.clientLimits, defaults.adminLimits] {
            #expect(limits.maxConnectionsPerAddress == 1000)
            #expect(limits.connectionLimitExempt == AddressRange.loopback)
            #expect(limits.writeTimeoutMilliseconds == 30_000)
            #expect(limits.maxQueuedResponseBytes == 65_536)
        }
        let client = defaults.clientLimits
        #expect(client.maxBufferedBytes == 4 << 20 && client.maxPayload == 1_000_000)
        #expect(client.maxPendingBinaryBytes == 8 << 20 && client.maxPendingBinaryBytesTotal == 64 << 20)
        #expect(client.binaryAttachmentTimeoutMilliseconds == 30_000)
    }

    @Test func limitsReachTheServersTheyBound() throws {
        let settings = try configuration(
            """
            module.exports = {
                limits: {memoryBudget: 0},
                admin: {maxConnectionsPerAddress: 7, connectionLimitExempt: ['192.0.2.0/24'], writeTimeout: 2000, maxQueuedResponseBytes: 4096},
                client: {
                    maxConnectionsPerAddress: 0, connectionLimitExempt: [], writeTimeout: 5000, maxQueuedResponseBytes: 8192,
                    maxBufferedBytes: 65536, maxPayload: 50000, maxPendingBinaryBytes: 1000, maxPendingBinaryBytesTotal: 2000,
                    binaryAttachmentTimeout: 3000, trustedProxies: ['10.0.0.0/8', '::1'],
                },
            };
            """
        )
        #expect(settings.warnings.isEmpty)  // every key is known
        #expect(settings.memoryBudgetLimit == nil)
        let client = settings.clientServerConfiguration
        #expect(client.maxConnectionsPerAddress == 0)
        #expect(client.writeTimeout == .seconds(5) && client.maxQueuedResponseBytes == 8192)
        // The trusted proxies are exempt from the per-address limit, whatever connectionLimitExempt says.
        #expect(client.connectionLimitExemptions.map(\.description) == ["10.0.0.0/8", "::1"])
        let admin = settings.adminServerConfiguration
        #expect(admin.maxConnectionsPerAddress == 7 && admin.writeTimeout == .seconds(2) && admin.maxQueuedResponseBytes == 4096)
        #expect(admin.connectionLimitExemptions.map(\.description) == ["192.0.2.0/24"])
        let io = settings.socketIOConfiguration
        #expect(io.engine.maxBufferedBytes == 65536 && io.engine.maxPayload == 50000)
        #expect(io.engine.transports == [.websocket, .polling])
        #expect(io.maxPendingBinaryBytes == 1000 && io.maxPendingBinaryBytesTotal == 2000)
        #expect(io.binaryAttachmentTimeout == .seconds(3))
    }

    @Test func badLimitsAreErrorsNamingTheKey() {
        #expect(throws: ConfigError.self) { try configuration("{client: {connectionLimitExempt: ['not-an-address']}}") }
        #expect(throws: ConfigError.self) { try configuration("{limits: {memoryBudget: -1}}") }
        #expect(throws: ConfigError.self) { try configuration("{admin: {writeTimeout: 'soon'}}") }
        do {
            _ = try configuration("{admin: {connectionLimitExempt: ['10.0.0.0/99']}}")
            Issue.record("a bad exempt entry was accepted")
        } catch {
            #expect("\(error)".contains("admin.connectionLimitExempt"))
        }
        let typo = try? configuration("{limits: {memoryBudjet: 5}}")
        #expect(typo?.warnings == ["unknown configuration key limits.memoryBudjet (did you mean limits.memoryBudget?)"])
    }

    @Test func theClusterSectionNamesADatabaseOrNothing() throws {
        #expect(PushinatorConfiguration.defaults.cluster == nil)
        let empty = try configuration("{cluster: {postgres: '', channelPrefix: 'push', timeout: 2000}}")
        #expect(empty.cluster == nil)
        #expect(empty.warnings.isEmpty)
        let set = try configuration("{cluster: {postgres: 'postgres://push:secret@db:5432/push', nodeName: 'node-1', timeout: 2000}}")
        #expect(set.cluster == ClusterSettings(postgres: "postgres://push:secret@db:5432/push", nodeName: "node-1", timeout: 2000))
        #expect(throws: ConfigError.self) { try configuration("{cluster: {postgres: 'mysql://db'}}") }
        #expect(throws: ConfigError.self) {
            try configuration("{cluster: {postgres: 'postgres://db/x', heartbeatInterval: 5000, heartbeatTimeout: 5000}}")
        }
        let environment = EnvironmentOverrides(
            prefix: "PUSHINATOR",
            variables: ["PUSHINATOR_CLUSTER_POSTGRES": "postgres://db/push", "PUSHINATOR_CLUSTER_CHANNEL_PREFIX": "app"]
        )
        let fromEnvironment = try PushinatorConfiguration(
            document: ConfigDocument(root: .object([:]), source: "embedded defaults", environment: environment)
        )
        #expect(fromEnvironment.cluster == ClusterSettings(postgres: "postgres://db/push", channelPrefix: "app"))
        // the bus lag above which /health is DEGRADED
        #expect(set.cluster?.maxBusLag == 5_000)
        #expect(try configuration("{cluster: {postgres: 'postgres://db/x', maxBusLag: 250}}").cluster?.maxBusLag == 250)
        #expect(throws: ConfigError.self) { try configuration("{cluster: {postgres: 'postgres://db/x', maxBusLag: 0}}") }
        let lagFromEnvironment = try PushinatorConfiguration(
            document: ConfigDocument(
                root: .object([:]),
                source: "embedded defaults",
                environment: EnvironmentOverrides(
                    prefix: "PUSHINATOR",
                    variables: ["PUSHINATOR_CLUSTER_POSTGRES": "postgres://db/push", "PUSHINATOR_CLUSTER_MAX_BUS_LAG": "900"]
                )
            )
        )
        #expect(lagFromEnvironment.cluster?.maxBusLag == 900)
        // whether a node alone waits for the log's commit before it answers
        #expect(set.cluster?.waitForLog == false)
        #expect(try configuration("{cluster: {postgres: 'postgres://db/x', waitForLog: true}}").cluster?.waitForLog == true)
        #expect(throws: ConfigError.self) { try configuration("{cluster: {postgres: 'postgres://db/x', waitForLog: 'yes please'}}") }
    }

    @Test func theAdvertisedAddressIsTheSettingOrTheClientListener() throws {
        let set = try configuration("{cluster: {postgres: 'postgres://db/push', advertise: 'http://10.0.0.5:8081'}}")
        #expect(set.cluster?.advertise == "http://10.0.0.5:8081")
        #expect(set.cluster?.advertisedAddress(clientHost: "0.0.0.0", clientPort: 9601) == "http://10.0.0.5:8081")
        let hostOnly = try configuration("{cluster: {postgres: 'postgres://db/push', advertise: '10.0.0.5'}}")
        #expect(hostOnly.cluster?.advertisedAddress(clientHost: "0.0.0.0", clientPort: 9601) == "http://10.0.0.5:9601")
        let v6 = try configuration("{cluster: {postgres: 'postgres://db/push', advertise: 'fd00::5'}}")
        #expect(v6.cluster?.advertisedAddress(clientHost: "::", clientPort: 9601) == "http://[fd00::5]:9601")
        let unset = try configuration("{cluster: {postgres: 'postgres://db/push'}}")
        #expect(unset.cluster?.advertisedAddress(clientHost: "10.0.0.7", clientPort: 9601) == "http://10.0.0.7:9601")
        #expect(unset.cluster?.advertisedAddress(clientHost: "0.0.0.0", clientPort: 9601) == nil)  // the warning
        #expect(unset.cluster?.advertisedAddress(clientHost: "::", clientPort: 9601) == nil)
        for bad in ["0.0.0.0", "https://10.0.0.5:8081", "http://10.0.0.5:8081/push", "10.0.0.5:99999"] {
            do {
                _ = try configuration("{cluster: {postgres: 'postgres://db/push', advertise: '\(bad)'}}")
                Issue.record("cluster.advertise \(bad) was accepted")
            } catch {
                #expect("\(error)".contains("cluster.advertise"))
            }
        }
        let environment = EnvironmentOverrides(
            prefix: "PUSHINATOR",
            variables: ["PUSHINATOR_CLUSTER_POSTGRES": "postgres://db/push", "PUSHINATOR_CLUSTER_ADVERTISE": "10.0.0.9:7000"]
        )
        let fromEnvironment = try PushinatorConfiguration(
            document: ConfigDocument(root: .object([:]), source: "embedded defaults", environment: environment)
        )
        #expect(fromEnvironment.cluster?.advertisedAddress(clientHost: "0.0.0.0", clientPort: 1) == "http://10.0.0.9:7000")
    }

    @Test func environmentOverridesTheLimits() throws {
        let environment = EnvironmentOverrides(
            prefix: "PUSHINATOR",
            variables: ["PUSHINATOR_LIMITS_MEMORY_BUDGET": "1048576", "PUSHINATOR_CLIENT_CONNECTION_LIMIT_EXEMPT": "192.0.2.1,10.0.0.0/8"]
        )
        let document = ConfigDocument(root: .object([:]), source: "embedded defaults", environment: environment)
        let settings = try PushinatorConfiguration(document: document)
        #expect(settings.memoryBudget == 1 << 20)
        #expect(settings.clientLimits.connectionLimitExempt.map(\.description) == ["192.0.2.1", "10.0.0.0/8"])
    }

    @Test func aReloadAppliesTheExemptionsButNotTheOtherLimits() throws {
        let running = try configuration("{client: {maxPayload: 5000}}")
        let fresh = try configuration(
            "{limits: {memoryBudget: 1000}, client: {maxPayload: 6000, connectionLimitExempt: ['192.0.2.9'], trustedProxies: ['10.1.1.1']}}"
        )
        let applied = Reloader.applyingLive(fresh, to: running)
        #expect(applied.memoryBudget == 1000)
        #expect(applied.clientLimits.maxPayload == 5000)
        #expect(applied.clientConnectionLimitExemptions.map(\.description) == ["192.0.2.9", "10.1.1.1"])
        let changed = Reloader.restartOnly.filter { $0.value(running) != $0.value(fresh) }.map(\.key)
        #expect(changed == ["client.maxPayload"])
    }
}
