import NIOCore
import NIOEmbedded
@testable import PushinatorHTTP
import Testing

/// The byte pipe of a forwarded WebSocket, between two embedded connections: bytes cross in both directions, a side
/// reads only while the other can write, and a close on either side closes both.
@Suite struct TunnelHandlerTests {
    struct Pipe {
        let client = EmbeddedChannel()
        let upstream = EmbeddedChannel()
        let clientReads = ReadCounter()
        let upstreamReads = ReadCounter()

        init(holdingOnUpstream held: [String] = []) throws {
            let (clientEnd, upstreamEnd) = (TunnelHandler(), TunnelHandler())
            try client.pipeline.syncOperations.addHandlers(clientReads, clientEnd)
            try upstream.pipeline.syncOperations.addHandlers(upstreamReads, upstreamEnd)
            for text in held { try upstream.writeInbound(ByteBuffer(string: text)) }  // before the other end exists
            TunnelHandler.pair(clientEnd, upstreamEnd)
        }

        func written(by channel: EmbeddedChannel) throws -> [String] {
            var texts: [String] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { texts.append(String(buffer: buffer)) }
            return texts
        }
    }

    @Test func bytesCrossInBothDirections() throws {
        let pipe = try Pipe(holdingOnUpstream: ["early"])
        #expect(try pipe.written(by: pipe.client) == ["early"])  // read before the pairing, delivered at it
        try pipe.client.writeInbound(ByteBuffer(string: "to upstream"))
        pipe.client.pipeline.fireChannelReadComplete()
        #expect(try pipe.written(by: pipe.upstream) == ["to upstream"])
        try pipe.upstream.writeInbound(ByteBuffer(string: "to client"))
        pipe.upstream.pipeline.fireChannelReadComplete()
        #expect(try pipe.written(by: pipe.client) == ["to client"])
    }

    @Test func aSideReadsOnlyWhileTheOtherCanWrite() throws {
        let pipe = try Pipe()
        pipe.upstream.isWritable = false
        pipe.upstream.pipeline.fireChannelWritabilityChanged()
        let before = pipe.clientReads.reads
        pipe.client.read()
        #expect(pipe.clientReads.reads == before)  // held back
        pipe.upstream.isWritable = true
        pipe.upstream.pipeline.fireChannelWritabilityChanged()
        #expect(pipe.clientReads.reads == before + 1)  // the held read happens now
        pipe.upstream.read()  // the other direction was never blocked
        #expect(pipe.upstreamReads.reads >= 1)
    }

    @Test(arguments: [true, false])
    func aCloseOnEitherSideClosesBoth(clientCloses: Bool) throws {
        let pipe = try Pipe()
        let (closing, other) = clientCloses ? (pipe.client, pipe.upstream) : (pipe.upstream, pipe.client)
        try closing.close().wait()
        #expect(!other.isActive)
    }
}
