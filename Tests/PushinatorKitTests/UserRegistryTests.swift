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

    /// `auth` computes a hash's digest once and checks it before and after the store answers.
    @Test func verifiesADigestAsItsHash() async throws {
        let users = UserRegistry()
        #expect(!users.verify("u", digest: HashDigest(of: "h")))
        try await users.register("u", hash: "h")
        #expect(users.verify("u", digest: HashDigest(of: "h")))
        #expect(!users.verify("u", digest: HashDigest(of: "h2")))
        #expect(!users.verify("other", digest: HashDigest(of: "h")))
        try await users.register("u", hash: "h2")
        #expect(!users.verify("u", digest: HashDigest(of: "h")))
        #expect(users.verify("u", digest: HashDigest(of: "h2")))
    }

    /// The digest is held in four words: its bytes, hex and comparisons are those of SHA-256.
    @Test func digestBytesAreSHA256() throws {
        // SHA-256("abc"), FIPS 180-2 appendix B.1
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        let digest = HashDigest(of: "abc")
        #expect(digest.hex == expected)
        #expect(digest.bytes.count == 32)
        #expect(HashDigest(bytes: digest.bytes) == digest)
        #expect(HashDigest(hex: expected) == digest)
        #expect(digest.matches("abc"))
        #expect(!digest.matches("abd"))
        #expect(digest.matches(HashDigest(of: "abc")))
        var flipped = digest.bytes
        flipped[31] ^= 1  // the last byte alone differs
        #expect(try !digest.matches(#require(HashDigest(bytes: flipped))))
        #expect(HashDigest(bytes: Array(digest.bytes.dropLast())) == nil)
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
