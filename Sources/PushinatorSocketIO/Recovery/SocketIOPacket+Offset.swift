import PushinatorJSON

extension SocketIOPacket {
    /// Appends `argument` to an event's data (where socket.io puts a recovery offset).
    mutating func appendArgument(_ argument: JSONValue) {
        guard case .array(var elements) = data else { return }
        data = nil  // let `elements` be uniquely referenced while it grows
        elements.append(argument)
        data = .array(elements)
    }
}
