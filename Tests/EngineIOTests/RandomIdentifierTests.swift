import EngineIO
import Testing

@Suite("Random identifiers")
struct RandomIdentifierTests {
    @Test func identifiersAreFifteenURLSafeCharactersAndDoNotRepeat() {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var seen = Set<String>()
        var used = Set<UInt8>()
        for _ in 0..<10_000 {
            let id = RandomIdentifier.make()
            #expect(id.utf8.count == 15)
            #expect(id.utf8.allSatisfy(alphabet.contains))
            used.formUnion(id.utf8)
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
        #expect(used == alphabet)  // every character shows up: no bits are stuck
    }

    @Test func identifiersMadeOnManyThreadsAtOnceDoNotRepeat() async {
        // the random bytes come from one pool behind a lock: no two callers may get the same bytes
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 { group.addTask { (0..<500).map { _ in RandomIdentifier.make() } } }
            var all: [String] = []
            for await batch in group { all += batch }
            return all
        }
        #expect(ids.count == 4_000)
        #expect(Set(ids).count == 4_000)
    }

    @Test func everyPositionVaries() {
        let ids = (0..<200).map { _ in Array(RandomIdentifier.make(count: 20).utf8) }
        for position in 0..<20 {
            #expect(Set(ids.map { $0[position] }).count > 20, "position \(position) barely changes")
        }
    }

    @Test func identifiersFitInsideTheStringValueAndOtherLengthsCanBeAsked() {
        // A Swift string of at most 15 UTF-8 bytes is stored inline (64-bit platforms): no allocation and no
        // reference counting per id, which is why the ids are 15 characters and not socket.io's 20.
        #expect(RandomIdentifier.length <= 15)
        #expect(RandomIdentifier.make(count: 0).utf8.count == 1)  // clamped to 1...20
        #expect(RandomIdentifier.make(count: 16).utf8.count == 16)
        #expect(RandomIdentifier.make(count: 99).utf8.count == 20)
    }
}
