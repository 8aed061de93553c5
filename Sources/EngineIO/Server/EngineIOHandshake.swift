public import HTTPTypes
public import PushinatorHTTP

/// The handshake request of an Engine.IO session, as the session keeps it for its whole life: the head (method,
/// scheme, authority, target and header fields) in one byte array.
///
/// A parsed request holds a dozen allocations (the pseudo-header storage, the field list, each long name and value);
/// an idle connection kept them all, about 1 KB each. ``request``, ``headers`` and ``query`` rebuild what they
/// return on every call: read them once where they are needed (at connect), not per message.
public struct EngineIOHandshake: Sendable {
    /// The pseudo-header fields (method, scheme, authority, path: an absent one is a `0xFF` byte, a present one a
    /// `0x00` byte, a 4-byte length and its UTF-8), then each header field (name length, name, value length, value).
    private let bytes: [UInt8]

    /// Keeps `request`'s head; its body is left out (a handshake is a `GET`).
    ///
    /// Sized first, then written through one pointer (each part's getter read once): appending the strings'
    /// `utf8` views one by one cost ~7k instructions per WebSocket connect.
    public init(_ request: Request) {
        let head = request.head
        let parts = (head.method.rawValue, head.scheme, head.authority, head.path)
        let fields = head.headerFields
        var size = 4 * 5 + parts.0.utf8.count
        size += 5 + (parts.1?.utf8.count ?? 0)
        size += 5 + (parts.2?.utf8.count ?? 0)
        size += 5 + (parts.3?.utf8.count ?? 0)
        for field in fields { size += 8 + field.name.rawName.utf8.count + field.value.utf8.count }
        bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var writer = Writer(base: buffer.baseAddress!)
            writer.optional(parts.0)
            writer.optional(parts.1)
            writer.optional(parts.2)
            writer.optional(parts.3)
            for field in fields {
                writer.string(field.name.rawName)
                writer.string(field.value)
            }
            initialized = writer.offset
        }
    }

    /// Writes what ``Reader`` reads, into memory sized beforehand.
    private struct Writer {
        let base: UnsafeMutablePointer<UInt8>
        var offset = 0

        mutating func optional(_ text: String?) {
            guard let text else {
                base[offset] = 0xFF
                offset += 1
                return
            }
            base[offset] = 0
            offset += 1
            string(text)
        }

        mutating func string(_ text: String) {
            var text = text
            text.withUTF8 { utf8 in
                let count = UInt32(truncatingIfNeeded: utf8.count)
                for shift in 0..<4 { base[offset + shift] = UInt8(truncatingIfNeeded: count >> (8 * shift)) }
                offset += 4
                if let source = utf8.baseAddress { (base + offset).update(from: source, count: utf8.count) }
                offset += utf8.count
            }
        }
    }

    /// The handshake request, rebuilt (with an empty body).
    public var request: Request {
        var reader = Reader(bytes: bytes)
        let method = reader.optionalString().flatMap { HTTPRequest.Method($0) } ?? .get
        let scheme = reader.optionalString()
        let authority = reader.optionalString()
        let path = reader.optionalString()
        let head = HTTPRequest(method: method, scheme: scheme, authority: authority, path: path, headerFields: headers(after: reader))
        return Request(head: head)
    }

    /// The header fields of the handshake request.
    public var headers: HTTPFields {
        var reader = Reader(bytes: bytes)
        for _ in 0..<4 { _ = reader.optionalString() }
        return headers(after: reader)
    }

    private func headers(after start: Reader) -> HTTPFields {
        var reader = start
        var fields = HTTPFields()
        while !reader.isAtEnd {
            let name = reader.string()
            let value = reader.string()
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }

    /// The decoded query of the handshake request's target.
    public var query: QueryParameters {
        var reader = Reader(bytes: bytes)
        for _ in 0..<3 { _ = reader.optionalString() }
        let target = reader.optionalString() ?? ""
        guard let questionMark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return QueryParameters(parsing: "") }
        return QueryParameters(parsing: target[target.utf8.index(after: questionMark)...])
    }

    /// Whether the handshake came over TLS (the request's scheme is `https`).
    public var isSecure: Bool {
        var reader = Reader(bytes: bytes)
        _ = reader.optionalString()
        return reader.optionalString() == "https"
    }

    /// Reads what ``EngineIOHandshake/init(_:)`` wrote, in order.
    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var isAtEnd: Bool { offset >= bytes.count }

        mutating func optionalString() -> String? {
            let present = bytes[offset] == 0
            offset += 1
            return present ? string() : nil
        }

        mutating func string() -> String {
            var count = 0
            for shift in 0..<4 { count |= Int(bytes[offset + shift]) << (8 * shift) }
            offset += 4
            defer { offset += count }
            return String(decoding: bytes[offset..<offset + count], as: UTF8.self)
        }
    }
}
