public import PushinatorJSON

/// What a pushinator node tells the others in its heartbeats so that they can forward Engine.IO requests to it: its
/// internal address, the prefix of the session ids it hands out, and the token a forwarded request must carry.
///
/// It travels as an extra member `pushinatorNode` of INITIAL_HEARTBEAT and HEARTBEAT messages
/// (`{"type":2,"uid":"…","nsp":"/","pushinatorNode":{"address":"http://10.0.0.5:8081","sidPrefix":"Qx3a","token":"…"}}`):
/// socket.io's Node adapters ignore members they do not know, so the bus stays wire-compatible with them.
public struct ClusterNodeAdvertisement: Sendable, Hashable {
    /// The node's internal base URL for the other nodes (`http://10.0.0.5:8081`), without path.
    public var address: String
    /// The first characters of every Engine.IO session id the node hands out.
    public var sessionPrefix: String
    /// The secret a request forwarded to this node carries (only the nodes on the bus learn it).
    public var token: String

    /// The member name on heartbeat messages.
    public static let memberName = "pushinatorNode"

    /// Creates an advertisement.
    /// - Parameters:
    ///   - address: The node's internal base URL.
    ///   - sessionPrefix: The prefix of its Engine.IO session ids.
    ///   - token: The secret forwarded requests carry.
    public init(address: String, sessionPrefix: String, token: String) {
        self.address = address
        self.sessionPrefix = sessionPrefix
        self.token = token
    }

    /// The JSON object, members in a fixed order.
    public var jsonValue: JSONValue {
        ["address": .string(address), "sidPrefix": .string(sessionPrefix), "token": .string(token)]
    }

    /// Reads an advertisement; `nil` when a member is missing, not a string, or longer than 512 bytes (a bad
    /// advertisement is ignored: the node is then not forwarded to, its heartbeat still counts).
    /// - Parameter value: The `pushinatorNode` member.
    public init?(jsonValue value: JSONValue) {
        guard let address = value["address"]?.string, let prefix = value["sidPrefix"]?.string,
            let token = value["token"]?.string,
            !address.isEmpty, !prefix.isEmpty, !token.isEmpty,
            address.utf8.count <= 512, prefix.utf8.count <= 512, token.utf8.count <= 512
        else { return nil }
        self.init(address: address, sessionPrefix: prefix, token: token)
    }
}
