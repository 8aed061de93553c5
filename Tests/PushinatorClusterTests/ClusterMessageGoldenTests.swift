import NIOCore
import PushinatorCluster
import PushinatorJSON
import PushinatorMessagePack
import Testing

/// Every message type against the exact JSON the Node.js adapter publishes (`JSON.stringify` of the objects
/// `cluster-adapter.ts` builds: `type`, `data`, then `uid` and `nsp`), and what the socket.io postgres emitter
/// publishes (uid `"emitter"`, no `nsp`, `opts` in its own order).
@Suite struct ClusterMessageGoldenTests {
    static let uid = "a1b2c3d4e5f60718"
    static let requestId = "0f1e2d3c4b5a6978"
    static let tail = #""uid":"a1b2c3d4e5f60718","nsp":"/"}"#

    static func message(_ body: ClusterMessage.Body) -> ClusterMessage { ClusterMessage(uid: uid, nsp: "/", body: body) }

    static let goldens: [(String, ClusterMessage)] = [
        (#"{"type":1,"# + tail, message(.initialHeartbeat)),
        (#"{"type":2,"# + tail, message(.heartbeat)),
        // io.to("room1").except("room2").emit("hello", {a: 1})
        (
            #"{"type":3,"data":{"packet":{"type":2,"data":["hello",{"a":1}],"nsp":"/"},"opts":{"rooms":["room1"],"except":["room2"],"flags":{}}},"#
                + tail,
            message(
                .broadcast(
                    packet: ["type": 2, "data": ["hello", ["a": 1]], "nsp": "/"],
                    options: .init(rooms: ["room1"], except: ["room2"])
                )
            )
        ),
        // io.timeout(5000).emit("hello", callback): the request id sits between packet and opts
        (
            #"{"type":3,"data":{"packet":{"type":2,"data":["hello"],"nsp":"/"},"requestId":"0f1e2d3c4b5a6978","opts":{"rooms":[],"except":[],"flags":{"timeout":5000}}},"#
                + tail,
            message(
                .broadcast(
                    packet: ["type": 2, "data": ["hello"], "nsp": "/"],
                    options: .init(flags: .init(timeout: 5000)),
                    requestId: requestId
                )
            )
        ),
        // io.volatile.compress(false).emit("tick")
        (
            #"{"type":3,"data":{"packet":{"type":2,"data":["tick"],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{"volatile":true,"compress":false}}},"#
                + tail,
            message(
                .broadcast(
                    packet: ["type": 2, "data": ["tick"], "nsp": "/"],
                    options: .init(flags: .init(volatile: true, compress: false))
                )
            )
        ),
        // io.in("room1").socketsJoin("room2")
        (
            #"{"type":4,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"rooms":["room2"]},"# + tail,
            message(.socketsJoin(options: .init(rooms: ["room1"]), rooms: ["room2"]))
        ),
        (
            #"{"type":5,"data":{"opts":{"rooms":[],"except":["room3"],"flags":{}},"rooms":["room2","room4"]},"# + tail,
            message(.socketsLeave(options: .init(except: ["room3"]), rooms: ["room2", "room4"]))
        ),
        // io.in("room1").disconnectSockets(true)
        (
            #"{"type":6,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"close":true},"# + tail,
            message(.disconnectSockets(options: .init(rooms: ["room1"]), close: true))
        ),
        (
            #"{"type":7,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"requestId":"0f1e2d3c4b5a6978"},"# + tail,
            message(.fetchSockets(options: .init(rooms: ["room1"]), requestId: requestId))
        ),
        (
            #"{"type":8,"data":{"requestId":"0f1e2d3c4b5a6978","sockets":[{"id":"s1","handshake":{"address":"127.0.0.1"},"rooms":["s1","room1"],"data":{}}]},"#
                + tail,
            message(
                .fetchSocketsResponse(
                    requestId: requestId,
                    sockets: [["id": "s1", "handshake": ["address": "127.0.0.1"], "rooms": ["s1", "room1"], "data": [:]]]
                )
            )
        ),
        // io.serverSideEmit("ping", 1) and io.serverSideEmit("ping", callback)
        (#"{"type":9,"data":{"packet":["ping",1]},"# + tail, message(.serverSideEmit(packet: ["ping", 1]))),
        (
            #"{"type":9,"data":{"requestId":"0f1e2d3c4b5a6978","packet":["ping"]},"# + tail,
            message(.serverSideEmit(packet: ["ping"], requestId: requestId))
        ),
        (
            #"{"type":10,"data":{"requestId":"0f1e2d3c4b5a6978","packet":"pong"},"# + tail,
            message(.serverSideEmitResponse(requestId: requestId, packet: "pong"))
        ),
        (
            #"{"type":11,"data":{"requestId":"0f1e2d3c4b5a6978","clientCount":2},"# + tail,
            message(.broadcastClientCount(requestId: requestId, clientCount: 2))
        ),
        (
            #"{"type":12,"data":{"requestId":"0f1e2d3c4b5a6978","packet":["ok",1.5]},"# + tail,
            message(.broadcastAck(requestId: requestId, packet: ["ok", 1.5]))
        ),
        (#"{"type":13,"# + tail, message(.adapterClose)),
    ]

    @Test(arguments: goldens)
    func encodesTheNodeAdaptersJSON(json: String, message: ClusterMessage) {
        #expect(message.jsonValue.jsonString == json)
    }

    @Test(arguments: goldens)
    func decodesTheNodeAdaptersJSON(json: String, message: ClusterMessage) throws {
        #expect(try ClusterMessageDecoder().decode(json: Array(json.utf8)) == message)
    }

    @Test(arguments: goldens)
    func roundTripsThroughMessagePack(json: String, message: ClusterMessage) throws {
        #expect(try ClusterMessageDecoder().decode(messagePack: message.jsonValue.messagePack) == message)
    }

    /// `new Emitter(pool).to("user:42").emit("hello", "world")`: no `nsp` (the channel names it), opts in the
    /// emitter's order.
    @Test func decodesThePostgresEmittersBroadcast() throws {
        let json = #"{"type":3,"data":{"packet":{"type":2,"data":["hello","world"],"nsp":"/"},"opts":{"rooms":["user:42"],"flags":{},"except":[]}},"uid":"emitter"}"#
        let message = try ClusterMessageDecoder().decode(json: Array(json.utf8), channelNamespace: "/")
        #expect(
            message
                == ClusterMessage(
                    uid: ClusterMessage.emitterUID,
                    nsp: "/",
                    body: .broadcast(packet: ["type": 2, "data": ["hello", "world"], "nsp": "/"], options: .init(rooms: ["user:42"]))
                )
        )
    }

    /// `emitter.in("room1").socketsJoin("room2")` and `.disconnectSockets()`: the emitter sends no flags.
    @Test func decodesThePostgresEmittersRoomOperations() throws {
        let join = #"{"type":4,"data":{"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]},"uid":"emitter"}"#
        #expect(
            try ClusterMessageDecoder().decode(json: Array(join.utf8), channelNamespace: "/admin").body
                == .socketsJoin(options: .init(rooms: ["room1"]), rooms: ["room2"])
        )
        let disconnect = #"{"type":6,"data":{"opts":{"rooms":[],"except":[]},"close":false},"uid":"emitter"}"#
        let message = try ClusterMessageDecoder().decode(json: Array(disconnect.utf8), channelNamespace: "/admin")
        #expect(message.nsp == "/admin")
        #expect(message.body == .disconnectSockets(options: .init(), close: false))
    }

    @Test func binaryMakesAMessageMessagePackOnly() {
        let binary = Self.message(
            .broadcast(packet: ["type": 2, "data": ["file", .binary(ByteBuffer(bytes: [1, 2]))], "nsp": "/"], options: .init())
        )
        #expect(binary.hasBinary)
        #expect(!Self.goldens.contains { $0.1.hasBinary })
        #expect(Self.message(.broadcastAck(requestId: "r", packet: [.binary(ByteBuffer())])).hasBinary)
    }

    @Test func responsesAreTold() {
        #expect(Self.message(.broadcastAck(requestId: "r", packet: nil)).isResponse)
        #expect(!Self.message(.heartbeat).isResponse)
    }
}
