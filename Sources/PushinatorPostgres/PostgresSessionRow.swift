import PushinatorJSON
import PushinatorSocketIO

/// A ``SessionRecord`` as a row of the session table: the rooms, data and kept storage as JSON text.
struct PostgresSessionRow: Sendable, Hashable {
    var pid: String
    var namespace: String
    var sid: String
    var node: String
    /// The rooms, a JSON array of strings, sorted.
    var rooms: String
    /// ``Socket/data`` as JSON.
    var data: String
    /// The kept storage, a JSON object of strings.
    var storage: String
    var baseOffset: String

    init(pid: String, namespace: String, sid: String, node: String, rooms: String, data: String, storage: String, baseOffset: String) {
        self.pid = pid
        self.namespace = namespace
        self.sid = sid
        self.node = node
        self.rooms = rooms
        self.data = data
        self.storage = storage
        self.baseOffset = baseOffset
    }

    /// The row of `record`.
    init(_ record: SessionRecord) {
        var storage = JSONObject()
        for key in record.storage.keys.sorted() { storage[key] = .string(record.storage[key]!) }
        self.init(
            pid: record.pid,
            namespace: record.namespace,
            sid: record.id,
            node: record.node,
            rooms: JSONValue.array(record.rooms.sorted().map(JSONValue.string)).jsonString,
            data: record.data.jsonString,
            storage: JSONValue.object(storage).jsonString,
            baseOffset: record.baseOffset
        )
    }

    /// The record this row holds; `nil` when a JSON column is not what the store writes.
    var record: SessionRecord? {
        guard let rooms = try? JSONValue(parsing: rooms), let roomList = rooms.array,
            let data = try? JSONValue(parsing: data),
            let storage = try? JSONValue(parsing: storage), let storageObject = storage.object
        else { return nil }
        var roomSet = Set<String>()
        for room in roomList {
            guard let name = room.string else { return nil }
            roomSet.insert(name)
        }
        var values: [String: String] = [:]
        for (key, value) in storageObject {
            guard let text = value.string else { return nil }
            values[key] = text
        }
        return SessionRecord(
            pid: pid,
            namespace: namespace,
            id: sid,
            node: node,
            rooms: roomSet,
            data: data,
            storage: values,
            baseOffset: baseOffset
        )
    }
}
