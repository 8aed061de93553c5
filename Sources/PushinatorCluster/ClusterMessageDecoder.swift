public import NIOCore
public import PushinatorJSON
import PushinatorMessagePack

/// Reads ``ClusterMessage``s from JSON (a notification) or MessagePack (an attachment), within limits; anything
/// else is a ``ClusterMessageError``, never a crash.
///
/// Like the Node adapter, it accepts members it does not know and members in any order. Where the socket.io
/// emitters leave `nsp` out (they publish on the namespace's channel instead), the channel's namespace is used.
public struct ClusterMessageDecoder: Sendable {
    /// The bounds on one message.
    public struct Limits: Sendable, Hashable {
        /// The largest message, in bytes (JSON or MessagePack). Default 16 MiB.
        public var maxMessageBytes: Int
        /// The deepest nesting of arrays and objects. Default 64.
        public var maxDepth: Int

        /// Creates limits.
        /// - Parameters:
        ///   - maxMessageBytes: The largest message, in bytes.
        ///   - maxDepth: The deepest nesting of arrays and objects.
        public init(maxMessageBytes: Int = 16 << 20, maxDepth: Int = 64) {
            self.maxMessageBytes = maxMessageBytes
            self.maxDepth = maxDepth
        }
    }

    /// The bounds on one message.
    public var limits: Limits

    /// Creates a decoder.
    /// - Parameter limits: The bounds on one message.
    public init(limits: Limits = .init()) {
        self.limits = limits
    }

    /// Decodes a JSON message (the payload of a notification).
    /// - Parameters:
    ///   - bytes: The JSON text.
    ///   - channelNamespace: The namespace of the channel it came on, used when the message has no `nsp`.
    /// - Returns: The message.
    /// - Throws: ``ClusterMessageError``.
    public func decode(json bytes: some Collection<UInt8>, channelNamespace: String? = nil) throws(ClusterMessageError)
        -> ClusterMessage
    {
        try decode(jsonValue: try parseJSON(bytes), channelNamespace: channelNamespace)
    }

    /// Parses JSON text within the limits (for payloads that may be something else than a message, such as
    /// an attachment header).
    /// - Parameter bytes: The JSON text.
    /// - Returns: The value.
    /// - Throws: ``ClusterMessageError`` (``ClusterMessageError/Reason/tooLarge`` or ``ClusterMessageError/Reason/notJSON``).
    public func parseJSON(_ bytes: some Collection<UInt8>) throws(ClusterMessageError) -> JSONValue {
        guard bytes.count <= limits.maxMessageBytes else {
            throw ClusterMessageError(.tooLarge, "\(bytes.count) bytes, the limit is \(limits.maxMessageBytes)")
        }
        do {
            return try JSONValue(parsing: bytes, options: JSONParser.Options(maxDepth: limits.maxDepth))
        } catch {
            throw ClusterMessageError(.notJSON, "\(error)")
        }
    }

    /// Decodes a MessagePack message (an attachment row's payload).
    /// - Parameters:
    ///   - buffer: The MessagePack bytes.
    ///   - channelNamespace: The namespace of the channel it came on, used when the message has no `nsp`.
    /// - Returns: The message.
    /// - Throws: ``ClusterMessageError``.
    public func decode(messagePack buffer: ByteBuffer, channelNamespace: String? = nil) throws(ClusterMessageError)
        -> ClusterMessage
    {
        guard buffer.readableBytes <= limits.maxMessageBytes else {
            throw ClusterMessageError(.tooLarge, "\(buffer.readableBytes) bytes, the limit is \(limits.maxMessageBytes)")
        }
        let value: JSONValue
        do {
            let messagePackLimits = MessagePackLimits(maxDepth: limits.maxDepth, maxInputSize: limits.maxMessageBytes)
            value = try JSONValue(messagePack: buffer, limits: messagePackLimits)
        } catch {
            throw ClusterMessageError(.notMessagePack, "\(error)")
        }
        return try decode(jsonValue: value, channelNamespace: channelNamespace)
    }

    /// Decodes a message already parsed.
    /// - Parameters:
    ///   - value: The message object.
    ///   - channelNamespace: The namespace of the channel it came on, used when the message has no `nsp`.
    /// - Returns: The message.
    /// - Throws: ``ClusterMessageError``.
    public func decode(jsonValue value: JSONValue, channelNamespace: String? = nil) throws(ClusterMessageError)
        -> ClusterMessage
    {
        let message = try ShapeReader(value, path: "message").object()
        let typeNumber = try message.member("type").int()
        guard let type = ClusterMessageType(rawValue: typeNumber) else {
            throw ClusterMessageError(.unknownType, "type \(typeNumber)")
        }
        let uid = try message.member("uid").string()
        let nsp: String
        if let member = message.optionalMember("nsp") {
            nsp = try member.string()
        } else if let channelNamespace {
            nsp = channelNamespace
        } else {
            throw ClusterMessageError(.wrongShape, "message.nsp is missing")
        }
        var node: ClusterNodeAdvertisement?
        if type == .initialHeartbeat || type == .heartbeat, let member = value[ClusterNodeAdvertisement.memberName] {
            node = ClusterNodeAdvertisement(jsonValue: member)
        }
        var sequence: UInt64?
        if let member = message.optionalMember("pushinatorSeq") {
            let value = try member.int()
            guard value >= 0 else { throw ClusterMessageError(.wrongShape, "message.pushinatorSeq is negative") }
            sequence = UInt64(value)
        }
        return ClusterMessage(
            uid: uid,
            nsp: nsp,
            body: try Self.body(of: type, in: message),
            node: node,
            recoverySequence: sequence
        )
    }

    private static func body(of type: ClusterMessageType, in message: ShapeReader.Object) throws(ClusterMessageError)
        -> ClusterMessage.Body
    {
        switch type {
        case .initialHeartbeat: return .initialHeartbeat
        case .heartbeat: return .heartbeat
        case .adapterClose: return .adapterClose
        default: break
        }
        let data = try message.member("data").object()
        switch type {
        case .broadcast:
            return .broadcast(
                packet: try data.member("packet").value,
                options: try data.member("opts").options(),
                requestId: try data.optionalMember("requestId")?.string()
            )
        case .socketsJoin:
            return .socketsJoin(options: try data.member("opts").options(), rooms: try data.member("rooms").strings())
        case .socketsLeave:
            return .socketsLeave(options: try data.member("opts").options(), rooms: try data.member("rooms").strings())
        case .disconnectSockets:
            return .disconnectSockets(
                options: try data.member("opts").options(),
                close: try data.optionalMember("close")?.bool()
            )
        case .fetchSockets:
            return .fetchSockets(options: try data.member("opts").options(), requestId: try data.member("requestId").string())
        case .fetchSocketsResponse:
            return .fetchSocketsResponse(
                requestId: try data.member("requestId").string(),
                sockets: try data.member("sockets").array().map(\.value)
            )
        case .serverSideEmit:
            return .serverSideEmit(
                packet: try data.member("packet").array().map(\.value),
                requestId: try data.optionalMember("requestId")?.string()
            )
        case .serverSideEmitResponse:
            // an acknowledgement called without argument sends `packet: undefined`, which JSON.stringify drops
            return .serverSideEmitResponse(
                requestId: try data.member("requestId").string(),
                packet: data.optionalMember("packet")?.value ?? .null
            )
        case .broadcastClientCount:
            return .broadcastClientCount(
                requestId: try data.member("requestId").string(),
                clientCount: try data.member("clientCount").int()
            )
        case .broadcastAck:
            return .broadcastAck(
                requestId: try data.member("requestId").string(),
                packet: data.optionalMember("packet")?.value ?? .null
            )
        case .initialHeartbeat, .heartbeat, .adapterClose:
            preconditionFailure("handled above")
        }
    }
}

/// Typed access to a decoded JSON value that names the path of what is wrong.
struct ShapeReader {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    struct Object {
        let object: JSONObject
        let path: String

        func member(_ key: String) throws(ClusterMessageError) -> ShapeReader {
            guard let value = object[key] else { throw ClusterMessageError(.wrongShape, "\(path).\(key) is missing") }
            return ShapeReader(value, path: "\(path).\(key)")
        }

        func optionalMember(_ key: String) -> ShapeReader? {
            guard let value = object[key] else { return nil }
            return ShapeReader(value, path: "\(path).\(key)")
        }
    }

    private func wrong(_ expected: String) -> ClusterMessageError {
        ClusterMessageError(.wrongShape, "\(path) is \(value.kindName), not \(expected)")
    }

    func object() throws(ClusterMessageError) -> Object {
        guard case .object(let object) = value else { throw wrong("an object") }
        return Object(object: object, path: path)
    }

    func array() throws(ClusterMessageError) -> [ShapeReader] {
        guard case .array(let elements) = value else { throw wrong("an array") }
        return elements.enumerated().map { ShapeReader($1, path: "\(path)[\($0)]") }
    }

    func string() throws(ClusterMessageError) -> String {
        guard case .string(let string) = value else { throw wrong("a string") }
        return string
    }

    func strings() throws(ClusterMessageError) -> [String] {
        var strings: [String] = []
        for element in try array() { strings.append(try element.string()) }
        return strings
    }

    func bool() throws(ClusterMessageError) -> Bool {
        guard case .bool(let bool) = value else { throw wrong("a boolean") }
        return bool
    }

    func int() throws(ClusterMessageError) -> Int {
        guard let int = value.int else { throw wrong("an integer") }
        return int
    }

    /// `{rooms, except, flags}`; the emitters leave `flags` out of some messages, and Node treats a missing
    /// list as empty.
    func options() throws(ClusterMessageError) -> ClusterBroadcastOptions {
        let object = try object()
        var flags = ClusterBroadcastFlags()
        if let flagsMember = object.optionalMember("flags") {
            let flagsObject = try flagsMember.object()
            flags.volatile = try flagsObject.optionalMember("volatile")?.bool()
            flags.compress = try flagsObject.optionalMember("compress")?.bool()
            flags.local = try flagsObject.optionalMember("local")?.bool()
            flags.broadcast = try flagsObject.optionalMember("broadcast")?.bool()
            flags.binary = try flagsObject.optionalMember("binary")?.bool()
            flags.timeout = try flagsObject.optionalMember("timeout")?.int()
            flags.expectSingleResponse = try flagsObject.optionalMember("expectSingleResponse")?.bool()
        }
        return ClusterBroadcastOptions(
            rooms: try object.optionalMember("rooms")?.strings() ?? [],
            except: try object.optionalMember("except")?.strings() ?? [],
            flags: flags
        )
    }
}
