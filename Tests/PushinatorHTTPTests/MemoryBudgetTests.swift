import InMemoryLogging
import Logging
import PushinatorHTTP
import Testing

@Suite("Process-wide memory budget")
struct MemoryBudgetTests {
    @Test func reservationsUpToTheLimitSucceedAndTheNextIsRefusedAndCounted() {
        let budget = MemoryBudget(limit: 100)
        #expect(budget.tryReserve(60))
        #expect(budget.tryReserve(40))
        #expect(budget.reserved == 100)
        #expect(!budget.tryReserve(1))
        #expect(budget.reserved == 100)
        #expect(budget.refusedCount == 1)
    }

    @Test func releasingMakesRoomAgain() {
        let budget = MemoryBudget(limit: 100)
        #expect(budget.tryReserve(100))
        #expect(!budget.tryReserve(10))
        budget.release(30)
        #expect(budget.reserved == 70)
        #expect(budget.tryReserve(30))
        #expect(budget.refusedCount == 1)
    }

    @Test func noLimitAcceptsEverythingButNeverOverflows() {
        let budget = MemoryBudget(limit: nil)
        #expect(budget.limit == nil)
        #expect(budget.tryReserve(Int.max / 2))
        #expect(budget.tryReserve(Int.max / 2))
        #expect(!budget.tryReserve(Int.max / 2))
        #expect(budget.reserved == (Int.max / 2) * 2)
    }

    @Test func zeroAndNegativeReservationsAreNoOps() {
        let budget = MemoryBudget(limit: 0)
        #expect(budget.tryReserve(0))
        #expect(budget.tryReserve(-5))
        budget.release(-5)
        #expect(budget.reserved == 0)
        #expect(!budget.tryReserve(1))
    }

    @Test func changingTheLimitKeepsWhatIsHeld() {
        let budget = MemoryBudget(limit: 100)
        #expect(budget.tryReserve(80))
        budget.setLimit(50)
        #expect(budget.limit == 50)
        #expect(budget.reserved == 80)
        #expect(!budget.tryReserve(1))
        budget.release(80)
        #expect(budget.tryReserve(50))
        budget.setLimit(nil)
        #expect(budget.tryReserve(1 << 40))
    }

    @Test func concurrentReserveAndReleaseNeverPassTheLimitAndBalance() async {
        let budget = MemoryBudget(limit: 1000)
        let granted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var granted = 0
                    for _ in 0..<2000 where budget.tryReserve(7) {
                        granted += 1
                        #expect(budget.reserved <= 1000 + 8 * 7)
                        budget.release(7)
                    }
                    return granted
                }
            }
            return await group.reduce(0, +)
        }
        #expect(granted > 0)
        #expect(budget.reserved == 0)
    }

    @Test func refusalsAreCountedPerUse() {
        let budget = MemoryBudget(limit: 10)
        #expect(!budget.tryReserve(11, for: .httpRequestBody))
        #expect(!budget.tryReserve(11, for: .httpRequestBody))
        #expect(!budget.tryReserve(11, for: .webSocketMessage))
        #expect(!budget.tryReserve(11))
        #expect(budget.tryReserve(10, for: .httpRequestBody))
        #expect(budget.refusals(for: .httpRequestBody) == 2)
        #expect(budget.refusals(for: .webSocketMessage) == 1)
        #expect(budget.refusals(for: .pollingPayload) == 0)
        #expect(budget.refusalsByUse == ["http_body": 2, "websocket_message": 1, "other": 1])
        #expect(budget.refusedCount == 4)
    }

    @Test func refusalsAreLoggedAsOneWarningPerIntervalWithTheRestAtDebugLevel() {
        let logs = InMemoryLogHandler()
        var logger = Logger(label: "test") { _ in logs }
        logger.logLevel = .debug
        let budget = MemoryBudget(limit: 100, logger: logger)
        #expect(budget.tryReserve(60, for: .httpRequestBody))
        for _ in 0..<5 { #expect(!budget.tryReserve(50, for: .webSocketMessage)) }
        let warnings = logs.entries.filter { $0.level == .warning }
        #expect(warnings.count == 1)  // the next one is due 10 s later
        let warning = warnings.first
        #expect(warning?.metadata["memory.use"] == "websocket_message")
        #expect(warning?.metadata["memory.bytes"] == "50")
        #expect(warning?.metadata["memory.held"] == "60")
        #expect(warning?.metadata["memory.limit"] == "100")
        #expect(warning?.metadata["memory.refused"] == "1")
        #expect(logs.entries.filter { $0.level == .debug }.count == 4)
    }

    @Test func withoutALoggerRefusalsAreOnlyCounted() {
        let budget = MemoryBudget(limit: 0)
        #expect(!budget.tryReserve(1, for: .pollingPayload))
        #expect(budget.refusals(for: .pollingPayload) == 1)
        let logs = InMemoryLogHandler()
        budget.setLoggerIfUnset(Logger(label: "test") { _ in logs })
        budget.setLoggerIfUnset(Logger(label: "other") { _ in InMemoryLogHandler() })  // the first one stays
        #expect(!budget.tryReserve(1, for: .pollingPayload))
        #expect(logs.entries.count == 1)
        #expect(logs.entries.first?.metadata["memory.refused"] == "2")  // both since the last warning
    }
}
