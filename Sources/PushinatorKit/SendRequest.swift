import PushinatorHTTP
import PushinatorJSON

/// The body of `POST /user/send`: `userId` or `userIds`, `message`, and an optional `ack`.
struct SendRequest {
    /// The addressed users (at least one).
    let userIDs: [String]
    /// The message, sent as the `message` event's argument.
    let message: JSONValue
    /// Wait for the clients' acks, when set.
    let ack: DeliveryAck?

    /// Parses `request`'s body; a missing field or a bad `ack` throws a 400.
    init(_ request: Request) throws {
        let body = try AdminAPI.body(of: request)
        let userIDs = body["userIds"]?.array?.compactMap(AdminAPI.userID) ?? AdminAPI.userID(body["userId"]).map { [$0] }
        guard let userIDs, !userIDs.isEmpty, let message = body["message"] else {
            throw AdminAPI.missing("Missing userId or message in data", body: body)
        }
        self.userIDs = userIDs
        self.message = message
        self.ack = try DeliveryAck(body["ack"])
    }
}

extension PushApp {
    /// The answer of `/user/send`, counted in the totals.
    func sendAnswer(delivered: Int, acked: Int?, queued: Int, partial: Bool = false) -> Response {
        countSent(delivered: delivered)
        var answer: JSONObject = ["delivered": .integer(delivered), "queued": .integer(queued)]
        if let acked { answer["acked"] = .integer(acked) }
        if partial { answer["partial"] = true }  // a node of the cluster did not answer in time
        return AdminAPI.ok(answer)
    }
}
