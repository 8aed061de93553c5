import PushinatorCluster
import PushinatorJSON
import Testing

/// The `pushinatorNode` member of heartbeats: what a node advertises for forwarding, ignored by Node.js adapters.
@Suite struct ClusterNodeAdvertisementTests {
    static let node = ClusterNodeAdvertisement(address: "http://10.0.0.5:8081", sessionPrefix: "Qx3a", token: "secret")

    @Test func heartbeatsCarryTheAdvertisementAfterTheNodeMembers() {
        let message = ClusterMessage(uid: "a1b2c3d4e5f60718", nsp: "/", body: .heartbeat, node: Self.node)
        #expect(
            message.jsonValue.jsonString
                == #"{"type":2,"uid":"a1b2c3d4e5f60718","nsp":"/","pushinatorNode":{"address":"http://10.0.0.5:8081","sidPrefix":"Qx3a","token":"secret"}}"#
        )
        let initial = ClusterMessage(uid: "a1b2c3d4e5f60718", nsp: "/", body: .initialHeartbeat, node: Self.node)
        #expect(initial.jsonValue["pushinatorNode"] == Self.node.jsonValue)
    }

    @Test func otherMessagesNeverCarryIt() {
        let message = ClusterMessage(uid: "a1b2c3d4e5f60718", nsp: "/", body: .adapterClose, node: Self.node)
        #expect(message.jsonValue.jsonString == #"{"type":13,"uid":"a1b2c3d4e5f60718","nsp":"/"}"#)
    }

    @Test func decodedFromJSONAndMessagePack() throws {
        let message = ClusterMessage(uid: "a1b2c3d4e5f60718", nsp: "/", body: .heartbeat, node: Self.node)
        let decoder = ClusterMessageDecoder()
        #expect(try decoder.decode(json: Array(message.jsonValue.jsonString.utf8)) == message)
        // a Node.js adapter's heartbeat has none
        let plain = try decoder.decode(json: Array(#"{"type":2,"uid":"n","nsp":"/"}"#.utf8))
        #expect(plain.node == nil && plain.body == .heartbeat)
    }

    @Test(arguments: [
        #"{"type":2,"uid":"n","nsp":"/","pushinatorNode":"x"}"#,
        #"{"type":2,"uid":"n","nsp":"/","pushinatorNode":{"address":"a","sidPrefix":"Qx3a"}}"#,
        #"{"type":2,"uid":"n","nsp":"/","pushinatorNode":{"address":1,"sidPrefix":"Qx3a","token":"t"}}"#,
        #"{"type":2,"uid":"n","nsp":"/","pushinatorNode":{"address":"","sidPrefix":"Qx3a","token":"t"}}"#,
    ])
    func aBadAdvertisementIsIgnoredAndTheHeartbeatStillCounts(json: String) throws {
        let message = try ClusterMessageDecoder().decode(json: Array(json.utf8))
        #expect(message.body == .heartbeat && message.node == nil)
    }
}
