import Logging
import Synchronization
import Testing

@testable import PushinatorRuntime

/// Keeps what is logged through it.
struct RecordingLogHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        records.records.withLock { $0.append((event.message.description, event.metadata ?? [:])) }
    }
}

final class LogRecords: Sendable {
    let records = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
}

@Suite struct OpenFileLimitTests {
    @Test func theProcessHasALimit() throws {
        let limit = try #require(OpenFileLimit.current)
        #expect(limit.soft > 0 && limit.soft <= limit.hard)
    }

    @Test func aLimitBelowTheServersIsAWarningSayingHowToRaiseIt() {
        let records = LogRecords()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) }
        let limit = OpenFileLimit(soft: 256, hard: 4096)
        #expect(!limit.warnIfCapping(connections: 10_000, configured: 10_000, logger: logger))
        #expect(records.records.withLock { $0.isEmpty })
        #expect(limit.warnIfCapping(connections: 224, configured: 10_000, logger: logger))
        let logged = records.records.withLock { $0 }
        #expect(logged.count == 1)
        #expect(logged.first?.message.contains("LimitNOFILE=65536") == true)
        #expect(logged.first?.metadata["process.nofile.soft"] == "256")
        #expect(logged.first?.metadata["process.nofile.hard"] == "4096")
        #expect(logged.first?.metadata["http.max_connections"] == "224")
    }
}
