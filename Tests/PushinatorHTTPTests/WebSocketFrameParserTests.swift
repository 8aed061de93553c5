import NIOCore
import NIOWebSocket
import Testing

@testable import PushinatorHTTP

/// `WebSocketFrameParser` without sockets: whole frames, frames cut anywhere, every length encoding, and the headers
/// refused before their payload arrives.
@Suite struct WebSocketFrameParserTests {
    static let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

    /// A client frame as it goes on the wire: masked with ``key`` unless `masked` is false.
    static func wire(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
        let mask: UInt8 = masked ? 0x80 : 0
        switch payload.count {
        case ..<126: bytes.append(mask | UInt8(payload.count))
        case ...0xFFFF: bytes += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: bytes += [mask | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        guard masked else { return bytes + payload }
        return bytes + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    static func parse(_ bytes: [UInt8], maxFrameSize: Int = 1 << 20) throws(WebSocketFrameParser.Failure) -> (frames: [WebSocketFrame], rest: Int) {
        var buffer = ByteBuffer(bytes: bytes)
        var frames: [WebSocketFrame] = []
        while let frame = try WebSocketFrameParser.nextFrame(in: &buffer, maxFrameSize: maxFrameSize) { frames.append(frame) }
        return (frames, buffer.readableBytes)
    }

    @Test(arguments: [0, 5, 125, 126, 300, 65_535, 65_536, 70_000])
    func aWholeFrameOfAnyLengthComesOutUnmasked(count: Int) throws {
        let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let (frames, rest) = try Self.parse(Self.wire(0x2, payload))
        #expect(frames.count == 1 && rest == 0)
        let frame = try #require(frames.first)
        #expect(frame.fin && frame.opcode == .binary && frame.maskKey != nil)
        #expect(frame.length == count)
        #expect(Array(frame.unmaskedData.readableBytesView) == payload)
    }

    @Test func framesBackToBackComeOutInOrder() throws {
        let bytes = Self.wire(0x1, Array("frag".utf8), fin: false) + Self.wire(0x9, [1, 2]) + Self.wire(0x0, Array("ment".utf8))
        let (frames, rest) = try Self.parse(bytes)
        #expect(rest == 0)
        #expect(frames.map(\.opcode) == [.text, .ping, .continuation])
        #expect(frames.map(\.fin) == [false, true, true])
        #expect(frames.map { String(buffer: $0.unmaskedData) } == ["frag", "\u{1}\u{2}", "ment"])
    }

    @Test func aFrameCutAtAnyByteWaitsForTheRestAndReadsNothing() throws {
        // a 16-bit length, so the cut falls in the first bytes, the length, the mask and the payload
        let whole = Self.wire(0x1, Array(String(repeating: "abc", count: 50).utf8))
        for cut in 0..<whole.count {
            var buffer = ByteBuffer(bytes: whole[..<cut])
            #expect(try WebSocketFrameParser.nextFrame(in: &buffer, maxFrameSize: 1000) == nil, "cut at \(cut)")
            #expect(buffer.readableBytes == cut, "cut at \(cut): bytes were consumed")
            buffer.writeBytes(whole[cut...])
            let frame = try #require(try WebSocketFrameParser.nextFrame(in: &buffer, maxFrameSize: 1000))
            #expect(String(buffer: frame.unmaskedData) == String(repeating: "abc", count: 50))
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test(arguments: [127, 1_000, 65_536])
    func aHeaderOverTheLimitFailsBeforeItsPayloadArrives(count: Int) {
        let header = Array(Self.wire(0x2, [UInt8](repeating: 0, count: count)).prefix(count < 126 ? 2 : count <= 0xFFFF ? 4 : 10))
        #expect(throws: WebSocketFrameParser.Failure.frameTooLarge) { try Self.parse(header, maxFrameSize: 126) }
    }

    @Test func aSixtyFourBitLengthBeyondAnyIntFailsAsTooLarge() {
        let header: [UInt8] = [0x82, 0x80 | 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: WebSocketFrameParser.Failure.frameTooLarge) { try Self.parse(header) }
        #expect(WebSocketFrameParser.Failure.frameTooLarge.closeCode == .messageTooLarge)
    }

    @Test func aFragmentedOrLongControlFrameFails() {
        #expect(throws: WebSocketFrameParser.Failure.invalidControlFrame) { try Self.parse(Self.wire(0x9, [1], fin: false)) }
        #expect(throws: WebSocketFrameParser.Failure.invalidControlFrame) {
            try Self.parse(Array(Self.wire(0x8, [UInt8](repeating: 0, count: 126)).prefix(4)))  // the header alone
        }
        #expect(WebSocketFrameParser.Failure.invalidControlFrame.closeCode == .protocolError)
        // 125 bytes is the most a control frame may carry
        #expect(throws: Never.self) { try Self.parse(Self.wire(0xA, [UInt8](repeating: 0, count: 125))) }
    }

    @Test func unmaskedFramesAndReservedBitsAreReportedForTheHandlerToRefuse() throws {
        let (frames, _) = try Self.parse(Self.wire(0x1, Array("hi".utf8), masked: false) + Self.wire(0x1, [], rsv: 0x40))
        #expect(frames.count == 2)
        #expect(frames[0].maskKey == nil && String(buffer: frames[0].data) == "hi")
        #expect(frames[1].rsv1 && !frames[1].rsv2 && !frames[1].rsv3)
        #expect(!WebSocketFrameValidator.admits(frames[0]) && !WebSocketFrameValidator.admits(frames[1]))
    }
}
