import PushinatorCluster
import PushinatorJSON
@testable import PushinatorSocketIO
import Testing

/// The pure parts of connection state recovery across the nodes of a cluster: the offsets, which log messages a
/// restored client missed, the storage kept with a session.
struct CrossNodeRecoveryTests {
    // MARK: Offsets

    @Test func offsetsRoundTripThroughTheirText() throws {
        let offset = ClusterRecoveryOffset(prefix: "ab3z", sequence: 1_000_000, logPosition: 123_456_789)
        #expect(offset.description == "ab3zlfls.21i3v9")
        #expect(ClusterRecoveryOffset(parsing: offset.description) == offset)
        #expect(ClusterRecoveryOffset(parsing: "wxyz0.0") == ClusterRecoveryOffset(prefix: "wxyz", sequence: 0, logPosition: 0))
    }

    @Test(arguments: ["", "abcd", "abcd12", "abcd1.", "abcd.5", "abcd1.-5", "abcd1.x!", "abcd1.2.3", String(repeating: "z", count: 80)])
    func anythingElseIsNotAClusterOffset(_ text: String) {
        #expect(ClusterRecoveryOffset(parsing: text) == nil)
    }

    @Test func aClusterOffsetStillNamesItsSequenceForTheNodeThatSentIt() {
        let offsets = RecoveryOffsets(prefix: "ab3z")
        #expect(offsets.sequence(of: "ab3z2s.9") == 100)
        #expect(offsets.sequence(of: "ab3z2s") == 100)
        #expect(offsets.sequence(of: "zzzz2s.9") == nil)
    }

    // MARK: Replay selection

    static func broadcast(
        _ uid: String,
        _ text: String,
        rooms: [String] = [],
        except: [String] = [],
        sequence: UInt64? = nil,
        logID: Int64,
        volatile: Bool = false,
        ack: Bool = false
    ) -> ClusterMessage {
        var packet: JSONObject = ["type": 2, "data": ["message", .string(text)], "nsp": "/"]
        if ack { packet["id"] = 7 }
        var message = ClusterMessage(
            uid: uid,
            nsp: "/",
            body: .broadcast(
                packet: .object(packet),
                options: .init(rooms: rooms, except: except, flags: .init(volatile: volatile ? true : nil))
            ),
            recoverySequence: sequence
        )
        message.logID = logID
        return message
    }

    static func counting(_ uid: String, _ text: String, rooms: [String], sequence: UInt64?, logID: Int64, volatile: Bool = false) -> ClusterMessage {
        let request: JSONValue = [
            "packet": ["type": 2, "data": ["message", .string(text)], "nsp": "/"],
            "rooms": .array(rooms.map(JSONValue.string)),
            "except": [],
            "volatile": .bool(volatile),
        ]
        var message = ClusterMessage(
            uid: uid,
            nsp: "/",
            body: .serverSideEmit(packet: [.string(ClusterAdapter.countingBroadcastEvent), request], requestId: "r1"),
            recoverySequence: sequence
        )
        message.logID = logID
        return message
    }

    static func texts(_ entries: [CrossNodeReplay.Entry]) -> [String] {
        entries.compactMap { $0.packet.data?.array?[1].string }
    }

    @Test func theOldNodesOwnEventsAfterTheOffsetAndTheOthersAfterItsLogPositionAreReplayedInLogOrder() {
        let offset = ClusterRecoveryOffset(prefix: "aaaa", sequence: 5, logPosition: 10)
        let messages = [
            Self.broadcast("C", "c9 (got it)", logID: 9),
            Self.broadcast("A", "a5 (got it, committed late)", sequence: 5, logID: 11),
            Self.broadcast("C", "c12", logID: 12),
            Self.counting("A", "a6", rooms: ["user:1"], sequence: 6, logID: 13),
            Self.counting("B", "b14", rooms: ["user:1"], sequence: 40, logID: 14),
            Self.broadcast("A", "a7", rooms: ["elsewhere"], sequence: 7, logID: 15),
            Self.broadcast("C", "c16", rooms: ["user:1"], logID: 16),
        ]
        let entries = CrossNodeReplay.select(messages, origin: "A", offset: offset, rooms: ["sid1", "user:1"], namespace: "/")
        #expect(Self.texts(entries) == ["c12", "a6", "b14", "c16"])
        #expect(entries.map(\.logID) == [12, 13, 14, 16])
        #expect(entries.map(\.sequence) == [nil, 6, 40, nil])
        #expect(entries.allSatisfy { $0.packet.namespace == "/" && $0.packet.ackID == nil })
    }

    @Test func exceptRoomsVolatileAndAcknowledgedEventsAndOtherMessagesAreLeftOut() {
        let offset = ClusterRecoveryOffset(prefix: "aaaa", sequence: 0, logPosition: 0)
        var heartbeat = ClusterMessage(uid: "B", nsp: "/", body: .heartbeat)
        heartbeat.logID = 1
        var join = ClusterMessage(uid: "B", nsp: "/", body: .socketsJoin(options: .init(rooms: ["sid1"]), rooms: ["x"]))
        join.logID = 2
        var unlogged = Self.broadcast("B", "no log id", logID: 0)
        unlogged.logID = nil
        let messages = [
            heartbeat, join, unlogged,
            Self.broadcast("B", "to all but me", except: ["sid1"], logID: 3),
            Self.broadcast("B", "volatile", logID: 4, volatile: true),
            Self.broadcast("B", "with an ack", logID: 5, ack: true),
            Self.counting("B", "volatile count", rooms: ["user:1"], sequence: 1, logID: 6, volatile: true),
            Self.broadcast("B", "to my own room", rooms: ["sid1"], logID: 7),
            Self.broadcast("B", "to everyone", logID: 8),
        ]
        let entries = CrossNodeReplay.select(messages, origin: "A", offset: offset, rooms: ["sid1", "user:1"], namespace: "/")
        #expect(Self.texts(entries) == ["to my own room", "to everyone"])
    }

    // MARK: Session storage

    enum User: PersistedSocketStorageKey { static let persistedName = "user" }
    enum Secret: SocketStorageKey { typealias Value = String }

    @Test func onlyPersistedKeysTravelWithASession() {
        let storage = SocketStorage(values: [ObjectIdentifier(User.self): "42", ObjectIdentifier(Secret.self): "hash"])
        let kept = storage.persisted([User.self])
        #expect(kept == ["user": "42"])
        let back = SocketStorage(persisted: kept, keys: [User.self])
        #expect(back[User.self] == "42" && back[Secret.self] == nil)
        #expect(SocketStorage(persisted: ["other": "x"], keys: [User.self])[User.self] == nil)
    }

    // MARK: Messages

    @Test func theRecoverySequenceTravelsAsAnExtraMemberAndTheLogIDDoesNot() throws {
        var message = Self.broadcast("A", "x", rooms: ["r"], sequence: 12, logID: 99)
        let text = message.jsonValue.jsonString
        #expect(text.hasSuffix(#","uid":"A","nsp":"/","pushinatorSeq":12}"#))
        let decoded = try ClusterMessageDecoder().decode(json: Array(text.utf8))
        #expect(decoded.recoverySequence == 12 && decoded.logID == nil)
        #expect(decoded == message)  // the log id is not part of a message's equality
        message.recoverySequence = nil
        #expect(!message.jsonValue.jsonString.contains("pushinatorSeq"))
    }
}
