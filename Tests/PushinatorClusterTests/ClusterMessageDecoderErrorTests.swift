import PushinatorCluster
import PushinatorJSON
import PushinatorMessagePack
import NIOCore
import Testing

/// Bad messages on the channel (not JSON, wrong shape, huge) are typed errors.
@Suite struct ClusterMessageDecoderErrorTests {
    static func error(_ json: String, limits: ClusterMessageDecoder.Limits = .init(), channel: String? = nil)
        -> ClusterMessageError?
    {
        do {
            _ = try ClusterMessageDecoder(limits: limits).decode(json: Array(json.utf8), channelNamespace: channel)
            return nil
        } catch {
            return error
        }
    }

    @Test func notJSON() {
        #expect(Self.error("hello")?.reason == .notJSON)
        #expect(Self.error("")?.reason == .notJSON)
        #expect(Self.error(#"{"type":1"#)?.reason == .notJSON)
    }

    @Test func tooLargeOrTooDeep() {
        let big = #"{"type":1,"uid":"x","nsp":"/","pad":""# + String(repeating: "a", count: 2000) + #""}"#
        #expect(Self.error(big, limits: .init(maxMessageBytes: 1000))?.reason == .tooLarge)
        let deep = #"{"type":9,"uid":"x","nsp":"/","data":{"packet":"# + String(repeating: "[", count: 100)
            + String(repeating: "]", count: 100) + "}}"
        #expect(Self.error(deep, limits: .init(maxDepth: 16))?.reason == .notJSON)
        var huge = ByteBuffer()
        MessagePackWriter.writeArrayHeader(count: 1 << 30, to: &huge)
        #expect(throws: ClusterMessageError.self) { try ClusterMessageDecoder().decode(messagePack: huge) }
    }

    @Test func wrongShape() {
        #expect(Self.error("[1,2]") == ClusterMessageError(.wrongShape, "message is array, not an object"))
        #expect(Self.error(#"{"uid":"x","nsp":"/"}"#) == ClusterMessageError(.wrongShape, "message.type is missing"))
        #expect(Self.error(#"{"type":"3","uid":"x","nsp":"/"}"#)?.reason == .wrongShape)
        #expect(Self.error(#"{"type":1,"nsp":"/"}"#) == ClusterMessageError(.wrongShape, "message.uid is missing"))
        #expect(Self.error(#"{"type":1,"uid":"x"}"#) == ClusterMessageError(.wrongShape, "message.nsp is missing"))
        #expect(Self.error(#"{"type":1,"uid":"x"}"#, channel: "/") == nil)
        #expect(Self.error(#"{"type":3,"uid":"x","nsp":"/"}"#) == ClusterMessageError(.wrongShape, "message.data is missing"))
        #expect(
            Self.error(#"{"type":4,"uid":"x","nsp":"/","data":{"opts":{"rooms":["a",5]},"rooms":[]}}"#)
                == ClusterMessageError(.wrongShape, "message.data.opts.rooms[1] is number, not a string")
        )
        #expect(
            Self.error(#"{"type":3,"uid":"x","nsp":"/","data":{"packet":{},"opts":{"flags":{"volatile":"yes"}}}}"#)?.reason
                == .wrongShape
        )
        #expect(Self.error(#"{"type":11,"uid":"x","nsp":"/","data":{"requestId":"r","clientCount":1.5}}"#)?.reason == .wrongShape)
    }

    @Test func unknownType() {
        #expect(Self.error(#"{"type":14,"uid":"x","nsp":"/"}"#) == ClusterMessageError(.unknownType, "type 14"))
        #expect(Self.error(#"{"type":0,"uid":"x","nsp":"/"}"#)?.reason == .unknownType)
    }

    @Test func notMessagePack() {
        #expect(throws: ClusterMessageError.self) { try ClusterMessageDecoder().decode(messagePack: ByteBuffer(bytes: [0xc1])) }
        let ext = ByteBuffer(bytes: [0xd4, 0x05, 0x00])
        #expect(throws: ClusterMessageError(.notMessagePack, "\(MessagePackError(.extensionWithoutJSONForm, offset: 0))")) {
            try ClusterMessageDecoder().decode(messagePack: ext)
        }
    }

    @Test func unknownMembersAreIgnoredAndAMissingAckPacketIsNull() throws {
        let json = #"{"type":12,"uid":"x","nsp":"/","extra":[1],"data":{"requestId":"r","more":true}}"#
        #expect(try ClusterMessageDecoder().decode(json: Array(json.utf8)).body == .broadcastAck(requestId: "r", packet: nil))
    }
}
