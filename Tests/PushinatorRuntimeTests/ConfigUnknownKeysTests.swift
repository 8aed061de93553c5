import PushinatorJSON
import PushinatorRuntime
import Testing

@Suite("Unknown configuration keys")
struct ConfigUnknownKeysTests {
    static func make(_ text: String) throws -> ConfigDocument {
        ConfigDocument(root: try ConfigFileReader().parse(text, source: "test.conf"), source: "test.conf")
    }

    @Test func aTypoIsReportedWithTheClosestReadKey() throws {
        let document = try Self.make("module.exports = { users: { stor: 'sqlite' }, admin: { port: 9600 } };")
        _ = try document.string("users.store", default: "memory")
        _ = try document.int("admin.port", default: 9600)
        #expect(document.unknownKeys() == [.init(key: "users.stor", suggestion: "users.store")])
        #expect(document.unknownKeys()[0].description == "unknown configuration key users.stor (did you mean users.store?)")
    }

    @Test func aKeyFarFromEveryReadKeyHasNoSuggestion() throws {
        let document = try Self.make("{ \"completely\": { \"different\": 1 } }")
        _ = try document.int("admin.port", default: 9600)
        #expect(document.unknownKeys() == [.init(key: "completely.different", suggestion: nil)])
    }

    @Test func keysReadThroughTheEnvironmentOrAsWholeObjectsCount() throws {
        let document = try Self.make("{ \"log\": { \"syslog\": { \"tag\": \"x\", \"hostname\": \"h\" } }, \"extra\": {} }")
        _ = try document.value("log.syslog")
        _ = try document.value("extra.inner")
        #expect(document.unknownKeys().isEmpty)
    }

    @Test func ignoredKeysAreNotReported() throws {
        let document = try Self.make("{ \"log\": { \"syslog\": { \"enable\": true, \"hostname\": \"h\" } } }")
        _ = try document.bool("log.syslog.enable", default: false)
        #expect(document.unknownKeys(ignoring: ["log.syslog.hostname"]).isEmpty)
        #expect(document.unknownKeys().map(\.key) == ["log.syslog.hostname"])
    }
}
