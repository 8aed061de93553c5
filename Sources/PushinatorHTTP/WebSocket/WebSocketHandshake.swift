import Crypto
import NIOCore
import NIOHTTP1
import PushinatorJSON

/// The server's part of RFC 6455's opening handshake (section 4.2.2) once a route accepted the upgrade: the checks
/// and the `Sec-WebSocket-Accept` value NIO's `NIOWebSocketServerUpgrader` made, done synchronously in one pass over
/// the request's fields, with no `HTTPHeaders` copies and no futures.
///
/// The state machine has already checked the rest of the request (``HTTPConnectionStateMachine``: a `GET` whose
/// `Upgrade` lists `websocket`, a first `Sec-WebSocket-Key` that is base64 of 16 bytes).
enum WebSocketHandshake {
    /// The only WebSocket version there is (RFC 6455 4.1).
    static let supportedVersion = "13"
    /// The GUID the accept value hashes behind the key (RFC 6455 1.3).
    static let magicGUID: StaticString = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The client's key when the handshake is acceptable: exactly one `Sec-WebSocket-Key` element and exactly one
    /// `Sec-WebSocket-Version` element, `13` (elements counted as `HTTPHeaders[canonicalForm:]` splits them:
    /// comma-separated, empty ones dropped, blanks trimmed, so that the same requests are accepted as by NIO's
    /// upgrader); `nil` otherwise (answered 400 by the connection handler).
    static func key(of head: HTTPRequestHead) -> Substring? {
        var key = SingleElement()
        var version = SingleElement()
        for (name, value) in head.headers {
            switch name.utf8.count {
            case 17 where name.equalsIgnoringASCIICase("sec-websocket-key"): key.add(value)
            case 21 where name.equalsIgnoringASCIICase("sec-websocket-version"): version.add(value)
            default: continue
            }
        }
        guard key.count == 1, version.count == 1, version.element == supportedVersion else { return nil }
        return key.element
    }

    /// Whether `head`'s `Upgrade` fields list `websocket`, in any case (elements as ``key(of:)`` splits them; an
    /// element that is not ASCII is lower-cased as `String.lowercased()` does), without the arrays of
    /// `HTTPHeaders[canonicalForm:]`.
    static func asksForWebSocket(_ head: HTTPRequestHead) -> Bool {
        for (name, value) in head.headers where name.utf8.count == 7 && name.equalsIgnoringASCIICase("upgrade") {
            let found = SingleElement.forEachElement(of: value) { element in
                guard element.utf8.allSatisfy({ $0 < 0x80 }) else { return element.lowercased() == "websocket" }
                return String(element).equalsIgnoringASCIICase("websocket")
            }
            if found { return true }
        }
        return false
    }

    /// Appends the `Sec-WebSocket-Accept` value for `key`: the base64 of the SHA-1 of the key and ``magicGUID``.
    static func writeAcceptValue(for key: Substring, into buffer: inout ByteBuffer) {
        var hasher = Insecure.SHA1()
        var key = key
        key.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        magicGUID.withUTF8Buffer { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        hasher.finalize().withUnsafeBytes { Base64.encode($0, into: &buffer) }
    }

    /// The elements of a field's values, counted; the first one kept.
    struct SingleElement {
        private(set) var count = 0
        private(set) var element: Substring = ""

        /// Adds the elements of one value.
        mutating func add(_ value: String) {
            _ = Self.forEachElement(of: value) { piece in
                count += 1
                if count == 1 { element = piece }
                return false
            }
        }

        /// Calls `body` with each element of `value` (split at commas, empty pieces dropped, spaces and tabs
        /// trimmed) until it returns `true`; returns whether it did.
        static func forEachElement(of value: String, _ body: (Substring) -> Bool) -> Bool {
            let utf8 = value.utf8
            var start = utf8.startIndex
            while start < utf8.endIndex {
                let end = utf8[start...].firstIndex(of: UInt8(ascii: ",")) ?? utf8.endIndex
                if start < end, body(trimmed(value[start..<end])) { return true }
                start = end == utf8.endIndex ? end : utf8.index(after: end)
            }
            return false
        }

        private static func trimmed(_ piece: Substring) -> Substring {
            let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            guard let first = piece.utf8.firstIndex(where: { !isBlank($0) }) else { return "" }
            let last = piece.utf8.lastIndex(where: { !isBlank($0) })!  // there is one: `first`
            return piece[first...last]
        }
    }
}
