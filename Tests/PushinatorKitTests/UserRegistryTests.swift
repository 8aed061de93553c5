import PushinatorKit
import Testing

@Suite("UserRegistry")
struct UserRegistryTests {
    @Test func verifiesOnlyTheCurrentHash() async throws {
        let users = UserRegistry()
        #expect(!users.verify("u", hash: "h"))
        try await users.register("u", hash: "h")
        #expect(users.verify("u", hash: "h"))
        #expect(!users.verify("u", hash: "h2"))
        #expect(!users.verify("u", hash: ""))
        try await users.register("u", hash: "h2")
        #expect(users.verify("u", hash: "h2"))
        #expect(!users.verify("u", hash: "h"))
        #expect(users.count == 1)
    }

    @Test func idleUsersExpireOnlyWithoutConnections() async throws {
        let users = UserRegistry()
        try await users.register("idle", hash: "h")
        try await users.register("busy", hash: "h")
        users.connectionOpened("busy")
        let later = ContinuousClock.now + .seconds(120)
        #expect(try await users.expireIdle(after: .seconds(60), now: later) == ["idle"])
        #expect(users.userIDs == ["busy"])
        users.connectionClosed("busy")
        #expect(try await users.expireIdle(after: .seconds(60), now: .now).isEmpty)
        #expect(try await users.expireIdle(after: .seconds(60), now: ContinuousClock.now + .seconds(61)) == ["busy"])
    }

    @Test func usersReadFromAStoreCountAsIdleSinceTheStart() async throws {
        let store = MemoryUserStore()
        try await store.register("old", hash: "h")
        let users = UserRegistry(store: store)
        #expect(users.verify("old", hash: "h"))
        #expect(!users.isConnected("old"))
        #expect(try await users.expireIdle(after: .seconds(60), now: .now).isEmpty)
        #expect(try await users.expireIdle(after: .seconds(60), now: ContinuousClock.now + .seconds(61)) == ["old"])
    }

    @Test func connectionCountsFollowOpensAndCloses() async throws {
        let users = UserRegistry()
        try await users.register("u", hash: "h")
        users.connectionOpened("u")
        users.connectionOpened("u")
        users.connectionClosed("u")
        #expect(users.isConnected("u"))
        users.connectionClosed("u")
        #expect(!users.isConnected("u"))
    }

    @Test func unregisterForgets() async throws {
        let users = UserRegistry()
        try await users.register("u", hash: "h")
        #expect(try await users.unregister("u"))
        #expect(try await !users.unregister("u"))
        #expect(!users.contains("u"))
    }
}

@Suite("UserRegistry hash rotation")
struct UserRegistryRotationTests {
    @Test func registerSaysWhetherTheHashChanged() async throws {
        let users = UserRegistry()
        #expect(try await users.register("u", hash: "h1") == .added)
        #expect(try await users.register("u", hash: "h1") == .unchanged)
        #expect(try await users.register("u", hash: "h2") == .rotated)
        #expect(!users.verify("u", hash: "h1"))
    }
}
