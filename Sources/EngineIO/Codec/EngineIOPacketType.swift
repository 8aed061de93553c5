/// The type of an Engine.IO packet, its first character (or, in v3 binary form, its first byte).
public enum EngineIOPacketType: UInt8, Sendable, Hashable, CaseIterable {
    /// Sent by the server when a session opens, with the handshake JSON (`0`).
    case open = 0
    /// Asks to close the session (`1`).
    case close = 1
    /// A heartbeat (`2`); in v4 the server pings, in v3 the client does. `2probe` probes a WebSocket upgrade.
    case ping = 2
    /// The answer to a ping (`3`); `3probe` answers an upgrade probe.
    case pong = 3
    /// Application data (`4`).
    case message = 4
    /// Completes a transport upgrade (`5`).
    case upgrade = 5
    /// Does nothing; used to end a pending poll during an upgrade (`6`).
    case noop = 6

    /// The ASCII digit of this type.
    var digit: UInt8 { UInt8(ascii: "0") &+ rawValue }

    /// The type whose ASCII digit is `byte`.
    init?(digit byte: UInt8) {
        guard byte >= UInt8(ascii: "0") else { return nil }
        self.init(rawValue: byte &- UInt8(ascii: "0"))
    }
}
