import EngineIO
public import PushinatorJSON

/// A socket as ``SocketIOAdapter/fetchSockets(_:)`` describes it: on this server or another one.
public struct RemoteSocket: Sendable, Equatable {
    /// The socket id.
    public var id: String
    /// The rooms it is in.
    public var rooms: Set<String>
    /// ``Socket/data``.
    public var data: JSONValue

    /// Creates a description.
    public init(id: String, rooms: Set<String>, data: JSONValue) {
        self.id = id
        self.rooms = rooms
        self.data = data
    }
}
