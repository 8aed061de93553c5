import PushinatorCluster
import PushinatorJSON
import Testing

/// A node recognises its own notifications by skimming the top level (``ClusterNotificationHeader``): the skim must
/// agree with a full parse on every text it answers for, and give up (`nil`) on what it cannot walk.
@Suite struct ClusterNotificationHeaderTests {
    static let uid = "a1b2c3d4e5f60718"

    /// The notification a node publishes: the message's JSON with the log id appended, as the transport's statement
    /// builds it.
    static func notification(_ message: ClusterMessage, logID: Int64) -> String {
        String(message.jsonValue.jsonString.dropLast()) + #","pushinatorLogId":"# + "\(logID)}"
    }

    @Test(arguments: ClusterMessageGoldenTests.goldens.map(\.1))
    func aNodesOwnMessagesAreRecognisedWithTheirLogID(message: ClusterMessage) throws {
        var message = message
        message.recoverySequence = 7
        let text = Self.notification(message, logID: 123_456)
        #expect(ClusterNotificationHeader.skim(text, uid: Self.uid) == .init(isFromUID: true, logID: 123_456))
        #expect(ClusterNotificationHeader.skim(text, uid: "a1b2c3d4e5f60719") == .init(isFromUID: false, logID: 123_456))
        #expect(ClusterNotificationHeader.skim(text, uid: "a1b2c3d4e5f6071") == .init(isFromUID: false, logID: 123_456))
    }

    @Test(arguments: [
        // the uid only inside the data, at any depth: not the top level's
        (#"{"type":3,"data":{"uid":"a1b2c3d4e5f60718","x":[{"uid":"a1b2c3d4e5f60718"}]},"uid":"emitter"}"#, false, nil),
        (#"{"type":3,"data":["\"uid\":\"a1b2c3d4e5f60718\""],"uid":"emitter","pushinatorLogId":5}"#, false, 5),
        // whitespace, members in another order, literals and numbers skipped
        (#" { "pushinatorLogId" : 42 , "a" : true, "b": null, "c": -1.5e3, "uid" : "a1b2c3d4e5f60718" } "#, true, 42),
        (#"{"uid":"a1b2c3d4e5f60718"}"#, true, nil),
        (#"{"uid":"a1b2c3d4e5f60718","pushinatorLogId":"5"}"#, true, nil),
        (#"{"uid":"a1b2c3d4e5f60718","pushinatorLogId":1.5}"#, true, nil),
        (#"{"uid":7,"pushinatorLogId":3}"#, false, 3),
        (#"{}"#, false, nil),
        // escapes inside skipped strings, brackets inside strings
        (#"{"data":"a\"}]\\","uid":"a1b2c3d4e5f60718"}"#, true, nil),
    ] as [(String, Bool, Int64?)])
    func theTopLevelIsRead(text: String, own: Bool, logID: Int64?) throws {
        #expect(ClusterNotificationHeader.skim(text, uid: Self.uid) == .init(isFromUID: own, logID: logID))
        // a full parse agrees
        let value = try JSONValue(parsing: Array(text.utf8))
        #expect((value["uid"]?.string == Self.uid) == own)
        #expect(value["pushinatorLogId"]?.int.map(Int64.init) == logID || logID == nil)
    }

    @Test(arguments: [
        "", "null", "[]", #""uid""#, "{", #"{"uid""#, #"{"uid":"a1b2c3d4e5f60718""#, #"{"uid":"a1b2c3d4e5f60718",}x"#,
        #"{"uid":"a1b2c3d4e5f60718"} x"#, #"{"uid":"a1b2c3d4e5f60718","uid":"b"}"#,
        #"{"u\u0069d":"a1b2c3d4e5f60718"}"#, #"{"uid":"a1b2c3d4e5f6071\u0038"}"#, #"{"a":[1,2,"uid":"a1b2c3d4e5f60718"}"#,
        #"{"a":{"b":"c\"}"#, #"{"a":tru"#, #"{"a" 1}"#, #"{"a":1 "uid":"a1b2c3d4e5f60718"}"#,
        #"{"pushinatorLogId":1,"pushinatorLogId":2,"uid":"a1b2c3d4e5f60718"}"#, "{\"a\":\"\\",
    ])
    func whatItCannotWalkIsLeftToTheParser(text: String) {
        #expect(ClusterNotificationHeader.skim(text, uid: Self.uid) == nil)
    }
}
