import NIOCore

/// The small messages of one publish, as the arrays the batch statement unnests: for each message its channel,
/// the publishing node's uid, its MessagePack (the log row) and its JSON (the notification, before the log id
/// is appended).
struct PostgresClusterBatch: Sendable {
    private(set) var channels: [String] = []
    private(set) var uids: [String] = []
    private(set) var payloads: [ByteBuffer] = []
    private(set) var notifications: [String] = []

    var isEmpty: Bool { channels.isEmpty }

    mutating func append(channel: String, uid: String, payload: ByteBuffer, notification: String) {
        channels.append(channel)
        uids.append(uid)
        payloads.append(payload)
        notifications.append(notification)
    }
}
