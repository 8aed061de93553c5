import PushinatorKit
import Testing

@Suite("UserRegistry")
struct UserRegistryTests {
    @Test func verifiesOnlyTheCurrentHash() {
        let users = UserRegistry()
        #expect(!users.verify("u", hash: "h"))
        users.register("u", hash: "h")
        #expect(users.verify("u", hash: "h"))
        #expect(!users.verify("u", hash: "h2"))
        #expect(!users.verify("u", hash: ""))
        users.register("u", hash: "h2")
        #expect(users.verify("u", hash: "h2"))
        #expect(!users.verify("u", hash: "h"))
        #expect(users.count == 1)
    }

    @Test func idleUsersExpireOnlyWithoutConnections() {
        let users = UserRegistry()
        users.register("idle", hash: "h")
        users.register("busy", hash: "h")
        users.connectionOpened("busy")
        let later = ContinuousClock.now + .seconds(120)
        #expect(users.expireIdle(after: .seconds(60), now: later) == ["idle"])
        #expect(users.userIDs == ["busy"])
        users.connectionClosed("busy")
        #expect(users.expireIdle(after: .seconds(60), now: .now).isEmpty)
        #expect(users.expireIdle(after: .seconds(60), now: ContinuousClock.now + .seconds(61)) == ["busy"])
    }

    @Test func unregisterForgets() {
        let users = UserRegistry()
        users.register("u", hash: "h")
        #expect(users.unregister("u"))
        #expect(!users.unregister("u"))
        #expect(!users.contains("u"))
    }
}

@Suite("UserRegistry hash rotation")
struct UserRegistryRotationTests {
    @Test func registerSaysWhetherTheHashChanged() {
        let users = UserRegistry()
        #expect(users.register("u", hash: "h1") == .added)
        #expect(users.register("u", hash: "h1") == .unchanged)
        #expect(users.register("u", hash: "h2") == .rotated)
        #expect(!users.verify("u", hash: "h1"))
    }
}
