@testable import EngineIO
import NIOCore
import PushinatorHTTP
@testable import PushinatorSocketIO
import PushinatorJSON
import Testing

/// The CONNECT answer is written straight into its buffer: it must be the bytes the generic encoder gives.
@Suite("Socket.IO CONNECT answer")
struct SocketIOConnectAnswerTests {
    @Test(arguments: [
        ("/", "oSO0OpakMV_3jnilAAAA", nil),
        ("/", "oSO0OpakMV_3jnilAAAA", "Yb2Zb3hX-9kQeFt0AAAB"),
        ("", "abc", nil),
        ("/admin", "abc", "def"),
        ("/ns é,x", "quote\"back\\slash\u{1}", "</script>\u{2028}"),  // escaped as the generic encoder does
    ] as [(String, String, String?)])
    func sameBytesAsTheGenericEncoder(namespace: String, sid: String, pid: String?) {
        var data: JSONObject = ["sid": .string(sid)]
        if let pid { data["pid"] = .string(pid) }
        let generic = "4" + SocketIOPacket(type: .connect, namespace: namespace, data: .object(data)).encoded().text
        let direct = SocketIOWire.connectAnswerText(namespace: namespace, sid: sid, pid: pid)
        #expect(String(buffer: direct) == generic)
        #expect(generic.hasPrefix("40"))
        // the packet sent: its text and its WebSocket frame (written in place) carry the same bytes
        let packet = SocketIOWire.connectAnswer(namespace: namespace, sid: sid, pid: pid)
        #expect(packet.frame == WebSocketEncodedFrame(text: direct))
        guard case .text(let text) = packet.kind else {
            Issue.record("not a text packet")
            return
        }
        #expect(String(buffer: text) == generic)
    }
}
