import PushinatorCluster
import PushinatorJSON

/// Socket.IO packets and broadcast selections as socket.io's cluster messages carry them.
enum ClusterPacketCoding {
    /// The packet object of a BROADCAST: `{"type": 2, "data": [...], "nsp": "/"}`, with `"id"` when an
    /// acknowledgement is expected (binary events keep type 2, as socket.io encodes them before the parser does).
    static func json(of packet: SocketIOPacket) -> JSONValue {
        let type: SocketIOPacketType = packet.type == .binaryEvent ? .event : packet.type == .binaryAck ? .ack : packet.type
        var object: JSONObject = ["type": .integer(Int(type.rawValue))]
        if let data = packet.data { object["data"] = data }
        object["nsp"] = .string(packet.namespace)
        if let id = packet.ackID { object["id"] = .integer(id) }
        return .object(object)
    }

    /// The EVENT packet of a BROADCAST's packet object, or `nil` when it is not an event with an array of data.
    static func event(from json: JSONValue, namespace: String) -> SocketIOPacket? {
        guard let type = json["type"]?.int, type == 2 || type == 5, let data = json["data"], data.array != nil else {
            return nil
        }
        return SocketIOPacket(type: .event, namespace: namespace, ackID: json["id"]?.int, data: data)
    }

    /// The `opts` of a cluster message for a selection and flags (rooms sorted, so the text is stable).
    static func options(_ target: BroadcastTarget, flags: BroadcastFlags, timeout: Duration? = nil) -> ClusterBroadcastOptions {
        ClusterBroadcastOptions(
            rooms: target.rooms.sorted(),
            except: target.except.sorted(),
            flags: ClusterBroadcastFlags(
                volatile: flags.volatile ? true : nil,
                timeout: timeout.map { Int($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) }
            )
        )
    }

    /// The selection of a cluster message's `opts`.
    static func target(of options: ClusterBroadcastOptions) -> BroadcastTarget {
        BroadcastTarget(rooms: Set(options.rooms), except: Set(options.except))
    }

    /// The flags a received broadcast is applied with: this process only.
    static func flags(of options: ClusterBroadcastOptions) -> BroadcastFlags {
        BroadcastFlags(volatile: options.flags.volatile == true, local: true)
    }

    /// A socket as FETCH_SOCKETS_RESPONSE describes it (`{id, handshake, rooms, data}`).
    static func json(of socket: RemoteSocket) -> JSONValue {
        ["id": .string(socket.id), "handshake": .object([:]), "rooms": .array(socket.rooms.sorted().map(JSONValue.string)), "data": socket.data]
    }

    /// The socket a FETCH_SOCKETS_RESPONSE describes, or `nil` for a malformed entry.
    static func remoteSocket(from json: JSONValue) -> RemoteSocket? {
        guard let id = json["id"]?.string else { return nil }
        let rooms = json["rooms"]?.array?.compactMap(\.string) ?? []
        return RemoteSocket(id: id, rooms: Set(rooms), data: json["data"] ?? .null)
    }
}
