// Waits that end: every helper here fails with a ``TestFailure`` past its time limit.

/// Runs `operation`, failing with a timeout error after `seconds`.
package func withTimeout<T: Sendable>(
    _ seconds: Double,
    _ what: String = "operation",
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TestFailure("\(what) timed out after \(seconds) s")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Polls `condition` (every 5 ms) until it holds, failing after `seconds`.
package func waitUntil(_ what: String, seconds: Double = 5, _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while !(await condition()) {
        if ContinuousClock.now > deadline { throw TestFailure("timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}
