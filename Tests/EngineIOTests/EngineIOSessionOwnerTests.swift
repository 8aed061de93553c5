import EngineIO
import Testing

/// Cluster session ids: the owner's prefix, then 96 random bits; read back from the sid alone.
@Suite struct EngineIOSessionOwnerTests {
    static let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    @Test func sessionIDsStartWithTheNodePrefixAndKeepTheUsualShape() {
        let prefix = EngineIOSessionOwner.makePrefix()
        #expect(EngineIOSessionOwner.isValidPrefix(prefix))
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let sid = EngineIOSessionOwner.makeSessionID(prefix: prefix)
            #expect(sid.utf8.count == 20 && sid.utf8.allSatisfy(Self.alphabet.contains))
            #expect(EngineIOSessionOwner.prefix(of: sid) == prefix)
            seen.insert(sid)
        }
        #expect(seen.count == 2_000)
    }

    @Test func theRandomPartVariesInEveryPosition() {
        let ids = (0..<200).map { _ in Array(EngineIOSessionOwner.makeSessionID(prefix: "Qx3a").utf8) }
        for position in 4..<20 {
            #expect(Set(ids.map { $0[position] }).count > 20, "position \(position) barely changes")
        }
    }

    @Test(arguments: ["", "abc", "abcde", "ab/c", "ab c"])
    func anInvalidPrefixGivesAnOrdinaryRandomID(prefix: String) {
        #expect(!EngineIOSessionOwner.isValidPrefix(prefix))
        let sid = EngineIOSessionOwner.makeSessionID(prefix: prefix)
        #expect(sid.utf8.count == 20 && sid.utf8.allSatisfy(Self.alphabet.contains))
    }

    @Test(arguments: ["", "short", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAA/", "AAAAAAAAAAAAAAAAAAA%"])
    func aSidThatIsNotTwentyURLSafeCharactersHasNoOwner(sid: String) {
        #expect(EngineIOSessionOwner.prefix(of: sid) == nil)
    }
}
