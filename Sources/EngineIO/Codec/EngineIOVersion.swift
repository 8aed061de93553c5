/// An Engine.IO protocol revision, as named by the `EIO` query parameter.
public enum EngineIOVersion: Int, Sendable, Hashable, CaseIterable {
    /// Engine.IO 3 (Socket.IO 2 clients): length-prefixed polling payloads.
    case v3 = 3
    /// Engine.IO 4 (Socket.IO 3 and later clients): record-separated polling payloads.
    case v4 = 4
}
