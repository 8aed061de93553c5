import HTTPTypes
import NIOCore
import NIOHTTP1

/// Serializes HTTP/1.1 response heads straight into the outbound buffer.
///
/// The connection handler writes bytes, not `HTTPServerResponsePart`s: a whole response (head and a small body)
/// leaves as one buffer, with no `HTTPHeaders` copy of the fields and no encoder or pipelining handler on the
/// write path. Field names and values need no escaping: `HTTPFields` only holds valid names and replaces CR, LF
/// and NUL in values with spaces, so a value cannot inject a header.
enum HTTPResponseHeadWriter {
    /// How the body of a response is delimited.
    enum Framing {
        /// `Content-Length: n`.
        case length(Int)
        /// `Transfer-Encoding: chunked`.
        case chunked
        /// No framing field: a body-less status, a `HEAD` answer keeping the handler's own length, or an
        /// HTTP/1.0 body ended by closing the connection.
        case none
    }

    /// Writes the status line, the fields of `fields` except the framing ones, then `framing`, `Connection:
    /// close` unless `keepAlive`, `Server` when `serverName` is set, and the empty line.
    /// - Parameter keepingLength: Keep a `Content-Length` field of `fields` (a `HEAD` answer advertising the
    ///   length a `GET` would have had).
    static func write(
        status: HTTPResponse.Status,
        fields: HTTPFields,
        framing: Framing,
        keepAlive: Bool,
        serverName: String?,
        keepingLength: Bool = false,
        into buffer: inout ByteBuffer
    ) {
        writeStatusLine(status, into: &buffer)
        for field in fields {
            if field.name == .transferEncoding || field.name == .connection { continue }
            if field.name == .contentLength, !keepingLength { continue }
            if serverName != nil, field.name == .server { continue }
            writeField(field.name.rawName, field.value, into: &buffer)
        }
        finish(framing: framing, keepAlive: keepAlive, serverName: serverName, into: &buffer)
    }

    /// Writes the `101 Switching Protocols` head that accepts a WebSocket handshake: the route's `fields` except
    /// `Upgrade` and `Connection`, then `Upgrade: websocket`, `Sec-WebSocket-Accept` for `key` and `Connection:
    /// upgrade` (the fields and the order NIO's `NIOWebSocketServerUpgrader` gave).
    static func writeWebSocketAccept(fields: HTTPFields, key: Substring, into buffer: inout ByteBuffer) {
        writeStatusLine(.switchingProtocols, into: &buffer)
        for field in fields where field.name != .upgrade && field.name != .connection {
            writeField(field.name.rawName, field.value, into: &buffer)
        }
        buffer.writeStaticString("Upgrade: websocket\r\nSec-WebSocket-Accept: ")
        WebSocketHandshake.writeAcceptValue(for: key, into: &buffer)
        buffer.writeStaticString("\r\nConnection: upgrade\r\n\r\n")
    }

    /// Writes a head from NIO fields (the `101 Switching Protocols` of an upgrade relayed from another server).
    static func write(status: HTTPResponse.Status, headers: HTTPHeaders, into buffer: inout ByteBuffer) {
        writeStatusLine(status, into: &buffer)
        for (name, value) in headers { writeField(name, value, into: &buffer) }
        buffer.writeStaticString("\r\n")
    }

    /// Writes the framing of a chunk of `count` bytes (its size line); the chunk's bytes and ``chunkEnd`` follow.
    static func writeChunkHeader(count: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(count, radix: 16))
        buffer.writeStaticString("\r\n")
    }

    /// What follows every chunk's bytes.
    static let chunkEnd: StaticString = "\r\n"
    /// The last chunk of a chunked body (no trailers).
    static let lastChunk: StaticString = "0\r\n\r\n"

    private static func finish(framing: Framing, keepAlive: Bool, serverName: String?, into buffer: inout ByteBuffer) {
        switch framing {
        case .length(let length):
            buffer.writeStaticString("content-length: ")
            writeDecimal(length, into: &buffer)
            buffer.writeStaticString("\r\n")
        case .chunked:
            buffer.writeStaticString("transfer-encoding: chunked\r\n")
        case .none:
            break
        }
        if !keepAlive { buffer.writeStaticString("connection: close\r\n") }
        if let serverName { writeField("server", serverName, into: &buffer) }
        buffer.writeStaticString("\r\n")
    }

    /// Writes the decimal digits of `value` (not negative) without making a `String` of them.
    static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for the 19 digits of Int.max
        var count = 0
        var rest = UInt64(max(value, 0))
        withUnsafeMutableBytes(of: &digits) { bytes in
            repeat {
                count &+= 1
                bytes[24 &- count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
        }
        withUnsafeBytes(of: &digits) { bytes in _ = buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[(24 &- count)...])) }
    }

    private static func writeField(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    private static func writeStatusLine(_ status: HTTPResponse.Status, into buffer: inout ByteBuffer) {
        switch status.code {
        case 200: buffer.writeStaticString("HTTP/1.1 200 OK\r\n")
        case 204: buffer.writeStaticString("HTTP/1.1 204 No Content\r\n")
        case 101: buffer.writeStaticString("HTTP/1.1 101 Switching Protocols\r\n")
        case 404: buffer.writeStaticString("HTTP/1.1 404 Not Found\r\n")
        default:
            buffer.writeStaticString("HTTP/1.1 ")
            buffer.writeString(String(status.code))
            buffer.writeStaticString(" ")
            buffer.writeString(status.reasonPhrase)  // legalized by `HTTPResponse.Status`: no CR or LF
            buffer.writeStaticString("\r\n")
        }
    }
}
