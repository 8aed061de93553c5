import EngineIO
import PushinatorCluster
import PushinatorSocketIO
import Testing

/// Where a request for a session this node does not hold goes, from its sid alone.
@Suite struct SessionForwardingDecisionTests {
    static let b = ClusterNodeAdvertisement(address: "http://10.0.0.6:8081", sessionPrefix: "BBBB", token: "tb")
    static let c = ClusterNodeAdvertisement(address: "http://10.0.0.7:8081", sessionPrefix: "CCCC", token: "tc")
    static let live = ["uid-b": b, "uid-c": c]

    static func decide(_ sid: String, forwarded: Bool = false, live: [String: ClusterNodeAdvertisement] = live)
        -> SessionForwardingDecision
    {
        SessionForwardingDecision(sid: sid, forwarded: forwarded, localPrefix: "AAAA", liveNodes: live)
    }

    @Test func aSessionOfAnotherLiveNodeIsForwardedToIt() {
        #expect(Self.decide(EngineIOSessionOwner.makeSessionID(prefix: "BBBB")) == .forward(Self.b))
        #expect(Self.decide(EngineIOSessionOwner.makeSessionID(prefix: "CCCC")) == .forward(Self.c))
    }

    @Test func aSessionOfThisNodeThatEndedIsUnknown() {
        #expect(Self.decide(EngineIOSessionOwner.makeSessionID(prefix: "AAAA")) == .unknown(.ownSession))
    }

    @Test func aForwardedRequestIsNeverForwardedAgain() {
        #expect(Self.decide(EngineIOSessionOwner.makeSessionID(prefix: "BBBB"), forwarded: true) == .unknown(.alreadyForwarded))
    }

    @Test func aSessionOfANodeThatIsDownOrUnknownIsUnknown() {
        #expect(Self.decide(EngineIOSessionOwner.makeSessionID(prefix: "DDDD")) == .unknown(.ownerNotAlive))
        #expect(Self.decide(EngineIOSessionOwner.makeSessionID(prefix: "BBBB"), live: [:]) == .unknown(.ownerNotAlive))
    }

    @Test(arguments: ["", "BBBB", "BBBB0123456789abcde/", RandomIdentifier.make() + "x"])
    func aMalformedSidIsUnknown(sid: String) {
        #expect(Self.decide(sid) == .unknown(.malformed))
    }

    @Test func twoNodesWithTheSamePrefixAlwaysGiveTheSameAnswer() {
        let clash = ClusterNodeAdvertisement(address: "http://10.0.0.9:8081", sessionPrefix: "BBBB", token: "tx")
        let sid = EngineIOSessionOwner.makeSessionID(prefix: "BBBB")
        let answers = (0..<20).map { _ in Self.decide(sid, live: ["uid-b": Self.b, "uid-a": clash]) }
        #expect(Set(answers) == [.forward(clash)])
    }
}
