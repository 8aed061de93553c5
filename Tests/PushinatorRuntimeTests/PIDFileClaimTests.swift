import PushinatorRuntime
import Synchronization
import Testing

@Suite struct PIDFileClaimTests {
    struct Refused: Error {}

    /// How many times a claim wrote its pidfile.
    final class Writes: Sendable {
        let count = Atomic(0)
        var value: Int { count.load(ordering: .relaxed) }
    }

    /// A claim of `count` servers that counts its pidfile writes, running in a task.
    static func running(waitingFor count: Int) -> (claim: PIDFileClaim, claims: Writes, task: Task<Void, any Error>) {
        let claims = Writes()
        let claim = PIDFileClaim(waitingFor: count) { claims.count.add(1, ordering: .relaxed) }
        return (claim, claims, Task { try await claim.run() })
    }

    /// Waits (bounded) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<400 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test(.timeLimit(.minutes(1)))
    func claimsOnlyOnceEveryServerListensThenRunsUntilCancelled() async throws {
        let (claim, claims, running) = Self.running(waitingFor: 2)
        claim.listening()
        try await Task.sleep(for: .milliseconds(50))
        #expect(claims.value == 0)  // one server of two: no pidfile yet
        #expect(!claim.isClaimed)
        claim.listening()
        try await Self.eventually { claim.isClaimed }
        #expect(claims.value == 1)
        try await Task.sleep(for: .milliseconds(20))
        #expect(!running.isCancelled)  // still running: a service that returns would end the group
        running.cancel()
        try await running.value
    }

    @Test(.timeLimit(.minutes(1)))
    func aGroupStoppedBeforeEveryServerListensWritesNothing() async throws {
        let (claim, claims, running) = Self.running(waitingFor: 2)
        claim.listening()
        try await Task.sleep(for: .milliseconds(20))
        running.cancel()  // the other server failed to bind: the group cancels its services
        try await running.value
        claim.listening()  // too late
        #expect(claims.value == 0)
        #expect(!claim.isClaimed)
    }

    @Test(.timeLimit(.minutes(1)))
    func aPIDFileThatCannotBeWrittenFailsTheService() async throws {
        let claim = PIDFileClaim(waitingFor: 1) { throw Refused() }
        claim.listening()
        await #expect(throws: Refused.self) { try await claim.run() }
        #expect(!claim.isClaimed)
    }
}
