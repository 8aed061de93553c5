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
}
