import NIOCore
import PushinatorJSON
import PushinatorSocketIO
import Testing

@Suite("Socket.IO packet encoding")
struct SocketIOPacketEncodingTests {
    @Test(arguments: [
        (SocketIOPacket(type: .connect), "0"),
        (SocketIOPacket(type: .connect, namespace: "/admin", data: ["token": "123"]), #"0/admin,{"token":"123"}"#),
        (SocketIOPacket(type: .connect, data: ["sid": "oSO0OpakMV_3jnilAAAA"]), #"0{"sid":"oSO0OpakMV_3jnilAAAA"}"#),
        (SocketIOPacket(type: .disconnect, namespace: "/admin"), "1/admin,"),
        (SocketIOPacket.event("hello", ["world"]), #"2["hello","world"]"#),
        (SocketIOPacket.event("a", namespace: "/admin", ackID: 12), #"2/admin,12["a"]"#),
        (SocketIOPacket.ack(1, ["ok"]), #"31["ok"]"#),
        (SocketIOPacket.ack(13, namespace: "/admin"), "3/admin,13[]"),
        (SocketIOPacket(type: .connectError, data: ["message": "Invalid namespace"]), #"4{"message":"Invalid namespace"}"#),
        (SocketIOPacket(type: .connectError, namespace: "/x", data: "nope"), #"4/x,"nope""#),
    ])
    func encodesGoldenStrings(packet: SocketIOPacket, expected: String) {
        let (text, attachments) = packet.encoded()
        #expect(text == expected)
        #expect(attachments.isEmpty)
    }

    @Test func binaryEventBecomesBinaryEventWithPlaceholders() {
        let packet = SocketIOPacket.event("hello", [.binary(ByteBuffer(bytes: [1, 2, 3]))])
        let (text, attachments) = packet.encoded()
        #expect(text == #"51-["hello",{"_placeholder":true,"num":0}]"#)
        #expect(attachments == [ByteBuffer(bytes: [1, 2, 3])])
    }

    @Test func binaryAckWithNamespaceAndID() {
        let packet = SocketIOPacket.ack(456, [.binary(ByteBuffer(bytes: [9]))], namespace: "/admin")
        let (text, attachments) = packet.encoded()
        #expect(text == #"61-/admin,456[{"_placeholder":true,"num":0}]"#)
        #expect(attachments.count == 1)
    }

    @Test func nestedBinariesAreNumberedDepthFirst() {
        let a = ByteBuffer(bytes: [0xA])
        let b = ByteBuffer(bytes: [0xB])
        let c = ByteBuffer(bytes: [0xC])
        let packet = SocketIOPacket.event("up", [["x": .binary(a), "list": [1, .binary(b)], "s": "keep"], .binary(c)])
        let (text, attachments) = packet.encoded()
        #expect(
            text == #"53-["up",{"x":{"_placeholder":true,"num":0},"list":[1,{"_placeholder":true,"num":1}],"#
                + #""s":"keep"},{"_placeholder":true,"num":2}]"#
        )
        #expect(attachments == [a, b, c])
    }

    @Test func explicitBinaryTypeWithoutBinaryKeepsZeroCount() {
        let packet = SocketIOPacket(type: .binaryEvent, data: ["e"])
        #expect(packet.encoded().text == #"50-["e"]"#)
    }

    @Test func binaryOutsideEventsIsWrittenAsBase64() {
        let packet = SocketIOPacket(type: .connect, data: ["k": .binary(ByteBuffer(bytes: [1, 2, 3, 4]))])
        let (text, attachments) = packet.encoded()
        #expect(text == #"0{"k":"AQIDBA=="}"#)
        #expect(attachments.isEmpty)
    }

    @Test func appendsAfterExistingBytes() {
        var buffer = ByteBuffer(string: "4")
        let attachments = SocketIOPacket.event("hello", ["world"]).encode(into: &buffer)
        #expect(String(buffer: buffer) == #"42["hello","world"]"#)
        #expect(attachments.isEmpty)
    }

    @Test func eventAccessors() {
        let packet = SocketIOPacket.event("move", [1, 2])
        #expect(packet.eventName == "move")
        #expect(packet.arguments == [1, 2])
        #expect(SocketIOPacket.ack(3, ["r"]).arguments == ["r"])
        #expect(SocketIOPacket(type: .connect).eventName == nil)
    }
}
