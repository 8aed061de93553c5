import NIOCore

/// The open packet of a server's sessions, rendered once: for one configuration only the `sid` differs, so the text
/// after it (`","upgrades":[...],"pingInterval":...}`, with and without the WebSocket upgrade) is kept and copied
/// behind each new `sid` (building it per session took ~7k instructions of every connect).
///
/// Produces the same bytes as ``EngineIOSessionStateMachine/openPacket(sid:upgrades:configuration:)`` (a test
/// compares them); an id that JSON would escape (not one this server hands out) is left to that function.
struct EngineIOOpenPacketTemplate: Sendable {
    /// `0{"sid":"`
    private static let head: StaticString = #"0{"sid":""#
    /// The text from the closing quote of the sid on, with `"upgrades":["websocket"]`.
    private let tailWithUpgrades: ByteBuffer
    /// The same with `"upgrades":[]`.
    private let tailWithoutUpgrades: ByteBuffer

    init(pingInterval: TimeAmount, pingTimeout: TimeAmount, maxPayload: Int) {
        func tail(upgrades: Bool) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeStaticString(upgrades ? #","upgrades":["websocket"],"pingInterval":"# : #","upgrades":[],"pingInterval":"#)
            buffer.writeString(String(pingInterval.nanoseconds / 1_000_000))
            buffer.writeStaticString(#","pingTimeout":"#)
            buffer.writeString(String(pingTimeout.nanoseconds / 1_000_000))
            buffer.writeStaticString(#","maxPayload":"#)
            buffer.writeString(String(maxPayload))
            buffer.writeInteger(UInt8(ascii: "}"))
            return buffer
        }
        tailWithUpgrades = tail(upgrades: true)
        tailWithoutUpgrades = tail(upgrades: false)
    }

    /// The open packet for `sid`; `nil` when `sid` has a byte JSON escapes or that is not ASCII.
    func packet(sid: String, upgrades: Bool) -> EngineIOEncodedPacket? {
        let tail = upgrades ? tailWithUpgrades : tailWithoutUpgrades
        var sid = sid
        return sid.withUTF8 { utf8 -> EngineIOEncodedPacket? in
            for byte in utf8 where byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                || byte == UInt8(ascii: "/")
            {
                return nil
            }
            return EngineIOEncodedPacket.text(capacity: Self.head.utf8CodeUnitCount + utf8.count + tail.readableBytes) {
                $0.writeStaticString(Self.head)
                $0.writeBytes(utf8)
                $0.writeImmutableBuffer(tail)
            }
        }
    }
}
