public import PushinatorJSON

extension ClusterMessage {
    /// The message as the Node.js cluster adapter builds it, members in the same order, so that
    /// `jsonValue.jsonString` is the text `JSON.stringify` gives: `type`, then `data` (when the type has
    /// data), then `uid` and `nsp` (appended by `publishAndReturnOffset` / `publishResponse`).
    public var jsonValue: JSONValue {
        var object: JSONObject = ["type": .integer(type.rawValue)]
        if let data = body.data { object["data"] = .object(data) }
        object["uid"] = .string(uid)
        object["nsp"] = .string(nsp)
        if let node, type == .initialHeartbeat || type == .heartbeat {
            object[ClusterNodeAdvertisement.memberName] = node.jsonValue
        }
        if let recoverySequence { object["pushinatorSeq"] = .integer(Int(truncatingIfNeeded: recoverySequence)) }
        return .object(object)
    }

    /// Whether the message carries binary data (socket.io's `hasBinary`): such a message cannot be JSON
    /// and travels as MessagePack.
    public var hasBinary: Bool {
        switch body {
        case .broadcast(let packet, _, _): packet.containsBinary
        case .fetchSocketsResponse(_, let sockets): sockets.contains { $0.containsBinary }
        case .serverSideEmit(let packet, _): packet.contains { $0.containsBinary }
        case .serverSideEmitResponse(_, let packet), .broadcastAck(_, let packet): packet.containsBinary
        default: false
        }
    }
}

extension ClusterMessage.Body {
    /// The `data` member, in the Node adapter's key order; `nil` for the heartbeats and close.
    var data: JSONObject? {
        switch self {
        case .initialHeartbeat, .heartbeat, .adapterClose:
            return nil
        case .broadcast(let packet, let options, let requestId):
            var data: JSONObject = ["packet": packet]
            if let requestId { data["requestId"] = .string(requestId) }
            data["opts"] = options.jsonValue
            return data
        case .socketsJoin(let options, let rooms), .socketsLeave(let options, let rooms):
            return ["opts": options.jsonValue, "rooms": .array(rooms.map(JSONValue.string))]
        case .disconnectSockets(let options, let close):
            var data: JSONObject = ["opts": options.jsonValue]
            if let close { data["close"] = .bool(close) }
            return data
        case .fetchSockets(let options, let requestId):
            return ["opts": options.jsonValue, "requestId": .string(requestId)]
        case .fetchSocketsResponse(let requestId, let sockets):
            return ["requestId": .string(requestId), "sockets": .array(sockets)]
        case .serverSideEmit(let packet, let requestId):
            var data: JSONObject = [:]
            if let requestId { data["requestId"] = .string(requestId) }
            data["packet"] = .array(packet)
            return data
        case .serverSideEmitResponse(let requestId, let packet), .broadcastAck(let requestId, let packet):
            return ["requestId": .string(requestId), "packet": packet]
        case .broadcastClientCount(let requestId, let clientCount):
            return ["requestId": .string(requestId), "clientCount": .integer(clientCount)]
        }
    }
}

extension ClusterBroadcastOptions {
    /// `{"rooms": [...], "except": [...], "flags": {...}}`, as socket.io's `encodeOptions` writes it.
    public var jsonValue: JSONValue {
        [
            "rooms": .array(rooms.map(JSONValue.string)),
            "except": .array(except.map(JSONValue.string)),
            "flags": .object(flags.jsonObject),
        ]
    }
}

extension ClusterBroadcastFlags {
    /// The flags that are set, in the order of socket.io's `BroadcastFlags` declaration.
    public var jsonObject: JSONObject {
        var object: JSONObject = [:]
        if let volatile { object["volatile"] = .bool(volatile) }
        if let compress { object["compress"] = .bool(compress) }
        if let local { object["local"] = .bool(local) }
        if let broadcast { object["broadcast"] = .bool(broadcast) }
        if let binary { object["binary"] = .bool(binary) }
        if let timeout { object["timeout"] = .integer(timeout) }
        if let expectSingleResponse { object["expectSingleResponse"] = .bool(expectSingleResponse) }
        return object
    }
}

extension JSONValue {
    /// Whether binary data is anywhere inside (socket.io's `hasBinary`).
    public var containsBinary: Bool {
        switch self {
        case .binary: true
        case .array(let elements): elements.contains { $0.containsBinary }
        case .object(let object): object.members.contains { $0.value.containsBinary }
        default: false
        }
    }
}
