import HTTPTypes
import NIOCore
import PushinatorHTTP
import PushinatorJSON

/// The HTTP answer to a polling GET: the queued packets in the payload format of the client's protocol revision.
enum EngineIOPollResponse {
    /// The response carrying `packets`.
    /// - Parameters:
    ///   - packets: The packets, in order.
    ///   - version: The client's protocol revision: v4 separates packets with 0x1E and base64-encodes binary ones
    ///     (`b` prefix); v3 uses length-prefixed payloads.
    ///   - supportsBinary: v3 only: whether the client accepts the binary payload form (no `b64=1`).
    static func make(_ packets: [EngineIOEncodedPacket], version: EngineIOVersion, supportsBinary: Bool) -> Response {
        var buffer = ByteBuffer()
        let contentType: String
        if version == .v4 {
            buffer.reserveCapacity(packets.reduce(0) { $0 + $1.byteCount + 1 })
            for (index, packet) in packets.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(0x1E)) }
                switch packet.kind {
                case .text(let text):
                    buffer.writeImmutableBuffer(text)
                case .binary(let bytes):
                    buffer.writeInteger(UInt8(ascii: "b"))
                    Base64.encode(bytes, into: &buffer)
                }
            }
            contentType = "text/plain; charset=UTF-8"
        } else {
            let format = EngineIOPollingCodec(version: .v3).encode(
                packets.map(\.packet),
                into: &buffer,
                supportsBinary: supportsBinary
            )
            contentType = format.contentType
        }
        return Response(status: .ok, headers: [.contentType: contentType], body: .buffer(buffer))
    }
}
