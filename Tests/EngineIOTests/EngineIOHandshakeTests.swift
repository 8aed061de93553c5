@testable import EngineIO
import HTTPTypes
import PushinatorHTTP
import Testing

/// The compact copy of the handshake request gives back what the parsed request held.
@Suite struct EngineIOHandshakeTests {
    private func request(scheme: String?, authority: String?, path: String?, fields: [(String, String)]) -> Request {
        var headers = HTTPFields()
        for (name, value) in fields { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return Request(head: HTTPRequest(method: .get, scheme: scheme, authority: authority, path: path, headerFields: headers))
    }

    @Test func keepsTheHeadFieldsInOrderWithTheirCaseAndRepeats() {
        let original = request(
            scheme: "https",
            authority: "push.example.com:8443",
            path: "/socket.io/?EIO=4&transport=websocket&token=a%20b&tag=x&tag=y",
            fields: [
                ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"),
                ("X-Forwarded-For", "203.0.113.7"), ("x-forwarded-for", "198.51.100.1"),
                ("Cookie", "io=abc; theme=dark"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("X-Empty", ""), ("X-Unicode", "caf\u{e9}"),
            ]
        )
        let handshake = EngineIOHandshake(original)
        #expect(handshake.request.head == original.head)
        #expect(handshake.request.path == original.path)
        #expect(handshake.request.rawQuery == original.rawQuery)
        #expect(handshake.headers == original.headers)
        #expect(handshake.headers.map(\.name.rawName) == original.headers.map(\.name.rawName))
        #expect(handshake.headers[values: .init("X-Forwarded-For")!] == ["203.0.113.7", "198.51.100.1"])
        #expect(handshake.query["token"] == "a b")
        #expect(handshake.query.all("tag") == ["x", "y"])
        #expect(Array(handshake.query.map(\.key)) == Array(original.query.map(\.key)))
        #expect(handshake.isSecure)
    }

    @Test func keepsAbsentPartsAbsent() {
        let original = request(scheme: "http", authority: nil, path: "/engine.io/", fields: [])
        let handshake = EngineIOHandshake(original)
        #expect(handshake.request.head == original.head)
        #expect(handshake.request.head.authority == nil)
        #expect(handshake.headers.isEmpty)
        #expect(handshake.query.isEmpty)
        #expect(!handshake.isSecure)
    }
}
