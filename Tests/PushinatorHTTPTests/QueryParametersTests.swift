import PushinatorHTTP
import Testing

@Suite("Query parameters")
struct QueryParametersTests {
    @Test func parsesPairsInOrderAndDecodesEscapes() {
        let query = QueryParameters(parsing: "EIO=4&transport=websocket&name=J%C3%BCrgen+M&tag=a&tag=b")
        #expect(query["EIO"] == "4")
        #expect(query["transport"] == "websocket")
        #expect(query["name"] == "Jürgen M")
        #expect(query.all("tag") == ["a", "b"])
        #expect(query.map(\.key) == ["EIO", "transport", "name", "tag", "tag"])
    }

    @Test func emptyPartsAreSkippedAndOnlyTheFirstEqualsSplits() {
        let query = QueryParameters(parsing: "&&flag&a=b=c&=x&")
        #expect(query.map(\.key) == ["flag", "a", ""])
        #expect(query["flag"] == "")
        #expect(query["a"] == "b=c")
        #expect(query[""] == "x")
        #expect(QueryParameters(parsing: "").isEmpty)
        #expect(QueryParameters(parsing: "&").isEmpty)
    }

    @Test func nonASCIITextAroundTheSeparatorsStaysWhole() {
        // "é" as e + combining acute: a Character split would see one grapheme; the byte split must not cut it
        let query = QueryParameters(parsing: "café=thé&e\u{301}=\u{301}x&emoji=👍🏽")
        #expect(query["café"] == "thé")
        #expect(query["e\u{301}"] == "\u{301}x")
        #expect(query["emoji"] == "👍🏽")
        #expect(query.get("missing", as: Int.self) == nil)
    }

    @Test func malformedEscapesStayAsTheyAre() {
        let query = QueryParameters(parsing: "a=%4&b=%&c=%zz&d=%41%42&e=x+y%2By&f=%FF&g%3D=1&h=50%25")
        #expect(query["a"] == "%4")
        #expect(query["b"] == "%")
        #expect(query["c"] == "%zz")
        #expect(query["d"] == "AB")
        #expect(query["e"] == "x y+y")
        #expect(query["f"] == "\u{FFFD}")
        #expect(query["g="] == "1")
        #expect(query["h"] == "50%")
    }

    @Test func aSubstringOfALargerTargetParsesTheSame() {
        let target = "/socket.io/?EIO=4&transport=websocket#frag"
        let start = target.firstIndex(of: "?").map(target.index(after:))!
        let end = target.firstIndex(of: "#")!
        let query = QueryParameters(parsing: target[start..<end])
        #expect(query.map(\.key) == ["EIO", "transport"])
        #expect(query["transport"] == "websocket")
    }
}
