import NIOCore
import PushinatorHTTP
import Testing

/// A frame whose payload is written in place must be the frame the copying initializer makes, for every header size.
@Suite("WebSocket encoded frame")
struct WebSocketEncodedFrameTests {
    @Test(arguments: [0, 1, 125, 126, 127, 65535, 65536, 70000])
    func writtenInPlaceEqualsCopied(length: Int) {
        let text = String(repeating: "é", count: length / 2) + String(repeating: "x", count: length % 2)
        for capacity in [0, 16, length + 1] {  // growing past the capacity keeps the room for the header
            let (frame, payload) = WebSocketEncodedFrame.text(capacity: capacity) { $0.writeString(text) }
            #expect(frame == WebSocketEncodedFrame(text: ByteBuffer(string: text)))
            #expect(String(buffer: payload) == text)
            #expect(frame.payloadCount == text.utf8.count)
        }
    }

    @Test func aWriterThatMovesTheIndicesGetsTheCopyingPath() {
        let (frame, payload) = WebSocketEncodedFrame.text(capacity: 8) { buffer in
            buffer.writeString("hello")
            buffer.moveReaderIndex(forwardBy: 1)
        }
        #expect(frame == WebSocketEncodedFrame(text: ByteBuffer(string: "ello")))
        #expect(String(buffer: payload) == "ello")
    }
}
