import PushinatorJSON
import PushinatorRuntime
import Testing

@Suite struct ConfigDocumentTests {
    static func make(
        _ root: JSONValue = ["admin": ["host": "127.0.0.1", "port": 9600]],
        environment: [String: String]? = nil
    ) -> ConfigDocument {
        ConfigDocument(
            root: root,
            source: "/etc/pushinator.conf",
            environment: environment.map { EnvironmentOverrides(prefix: "PUSHINATOR", variables: $0) } ?? .none
        )
    }

    func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as ConfigError {
            return error.description
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func readsTheSampleConfigWithTypedAccessors() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = try directory.write("pushinator.conf", samplePushinatorConfig)
        let config = try ConfigDocument.load(contentsOf: path)
        #expect(try config.string("pidfile") == "/var/run/pushinator.pid")
        #expect(try config.host("admin.host", default: "localhost") == "127.0.0.1")
        #expect(try config.port("admin.port", default: 1) == 9600)
        #expect(try config.host("client.host", default: "localhost") == "0.0.0.0")
        #expect(try config.port("client.port", default: 1) == 9601)
        #expect(
            try config.stringArray("client.socketIoTransports", default: [])
                == ["websocket", "flashsocket", "htmlfile", "xhr-polling", "jsonp-polling"]
        )
        #expect(try config.bool("client.useSSL", default: true) == false)
        #expect(try config.string("client.sslKey", default: "x") == "")
        #expect(try config.bool("log.syslog.enable", default: true) == false)
        #expect(try config.string("log.syslog.tag", default: "") == "pushinator")
        #expect(try config.syslogFacility("log.syslog.facility", default: .user) == .local0)
        #expect(try config.value("log.syslog")?.object?.keys == ["enable", "tag", "facility"])
    }

    @Test func missingAndNullKeysTakeTheDefault() throws {
        let config = Self.make(["admin": ["port": nil], "log": nil])
        #expect(try config.port("admin.port", default: 9600) == 9600)
        #expect(try config.int("missing.deeply.nested", default: 7) == 7)
        #expect(try config.bool("log.debug", default: true) == true)
        #expect(try config.string("pidfile") == nil)
        #expect(config.contains("admin") && !config.contains("admin.port") && !config.contains("nope"))
    }

    @Test func wrongTypesNameTheFileAndKey() {
        let config = Self.make([
            "admin": ["port": "abc", "host": true],
            "client": ["port": 70000, "useSSL": "maybe", "socketIoTransports": ["websocket", 5]],
            "log": 5,
            "tag": ["a"],
            "facility": "LOG_NOPE",
        ])
        #expect(
            message { _ = try config.port("admin.port", default: 9600) }
                == #"/etc/pushinator.conf: admin.port must be a number between 1 and 65535, found string "abc""#
        )
        #expect(
            message { _ = try config.port("client.port", default: 9600) }
                == "/etc/pushinator.conf: client.port must be a number between 1 and 65535, found number 70000"
        )
        #expect(
            message { _ = try config.host("admin.host", default: "") }
                == "/etc/pushinator.conf: admin.host must be a host name or address (or 0 for all interfaces), found boolean true"
        )
        #expect(
            message { _ = try config.bool("client.useSSL", default: false) }
                == #"/etc/pushinator.conf: client.useSSL must be true or false, found string "maybe""#
        )
        #expect(
            message { _ = try config.stringArray("client.socketIoTransports", default: []) }
                == "/etc/pushinator.conf: client.socketIoTransports[1] must be a string, found number 5"
        )
        #expect(
            message { _ = try config.bool("log.syslog.enable", default: false) }
                == "/etc/pushinator.conf: log must be an object, found number 5"
        )
        #expect(
            message { _ = try config.string("tag", default: "") }
                == "/etc/pushinator.conf: tag must be a string, found array"
        )
        #expect(
            message { _ = try config.syslogFacility("facility", default: .user) }?.hasPrefix(
                #"/etc/pushinator.conf: facility must be a syslog facility (LOG_USER, LOG_DAEMON"#
            ) == true
        )
    }

    @Test func lenientValuesNodeAccepted() throws {
        let config = Self.make(["port": "9600", "ratio": "0.5", "flag": 1, "list": "a, b,,c", "host": "", "big": 5.0])
        #expect(try config.port("port", default: 1) == 9600)
        #expect(try config.double("ratio", default: 0) == 0.5)
        #expect(try config.bool("flag", default: false) == true)
        #expect(try config.stringArray("list", default: []) == ["a", "b", "c"])
        #expect(try config.host("host", default: "x") == "0.0.0.0")
        #expect(try config.int("big", default: 0) == 5)
    }

    @Test func environmentOverridesTheFile() throws {
        let config = Self.make(
            samplePushinatorRoot,
            environment: [
                "PUSHINATOR_ADMIN_PORT": "9700",
                "PUSHINATOR_LOG_SYSLOG_ENABLE": "yes",
                "PUSHINATOR_LOG_DEBUG": "1",
                "PUSHINATOR_CLIENT_SOCKET_IO_TRANSPORTS": "websocket, xhr-polling",
                "PUSHINATOR_CLIENT_HOST": "0",
                "PUSHINATOR_CLIENT_USE_SSL": "TRUE",
                "PUSHINATOR_LOG_SYSLOG_FACILITY": "local3",
                "PUSHINATOR_PIDFILE": "/tmp/p.pid",
                "OTHER_ADMIN_PORT": "1",
            ]
        )
        #expect(try config.port("admin.port", default: 1) == 9700)
        #expect(try config.bool("log.syslog.enable", default: false) == true)
        #expect(try config.bool("log.debug", default: false) == true)
        #expect(try config.stringArray("client.socketIoTransports", default: []) == ["websocket", "xhr-polling"])
        #expect(try config.host("client.host", default: "x") == "0.0.0.0")
        #expect(try config.bool("client.useSSL", default: false) == true)
        #expect(try config.syslogFacility("log.syslog.facility", default: .user) == .local(3))
        #expect(try config.string("pidfile") == "/tmp/p.pid")
        #expect(try config.host("admin.host", default: "x") == "127.0.0.1")
        #expect(config.contains("missing.key") == false)
    }

    @Test func badEnvironmentValuesNameTheVariable() {
        let config = Self.make(
            environment: ["PUSHINATOR_ADMIN_PORT": "abc", "PUSHINATOR_LOG_DEBUG": "sometimes", "PUSHINATOR_X": "1.5"]
        )
        #expect(
            message { _ = try config.port("admin.port", default: 9600) }
                == #"environment variable PUSHINATOR_ADMIN_PORT: admin.port must be a number between 1 and 65535, found "abc""#
        )
        #expect(
            message { _ = try config.bool("log.debug", default: false) }
                == #"environment variable PUSHINATOR_LOG_DEBUG: log.debug must be true or false, found "sometimes""#
        )
        #expect(
            message { _ = try config.int("x", default: 0) }
                == #"environment variable PUSHINATOR_X: x must be an integer, found "1.5""#
        )
    }

    @Test(arguments: [
        ("admin.port", "PUSHINATOR_ADMIN_PORT"),
        ("log.syslog.enable", "PUSHINATOR_LOG_SYSLOG_ENABLE"),
        ("client.socketIoTransports", "PUSHINATOR_CLIENT_SOCKET_IO_TRANSPORTS"),
        ("client.useSSL", "PUSHINATOR_CLIENT_USE_SSL"),
        ("client.sslKey", "PUSHINATOR_CLIENT_SSL_KEY"),
        ("SSLKey", "PUSHINATOR_SSL_KEY"),
        ("http2Enabled", "PUSHINATOR_HTTP2_ENABLED"),
        ("max-connections", "PUSHINATOR_MAX_CONNECTIONS"),
    ])
    func environmentVariableNames(keyPath: String, variable: String) {
        #expect(EnvironmentOverrides(prefix: "PUSHINATOR", variables: [:]).variableName(for: keyPath) == variable)
    }

    @Test func loadRejectsNonObjectFiles() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = try directory.write("list.conf", "module.exports = [1];")
        #expect(throws: ConfigError(source: path, message: "the configuration must be an object, found array")) {
            try ConfigDocument.load(contentsOf: path)
        }
    }

    @Test func processEnvironmentIsRead() {
        let environment = EnvironmentOverrides.processEnvironment()
        #expect(environment["PATH"] != nil)
    }
}

let samplePushinatorRoot: JSONValue = (try? ConfigFileReader().parse(samplePushinatorConfig, source: "sample")) ?? nil
