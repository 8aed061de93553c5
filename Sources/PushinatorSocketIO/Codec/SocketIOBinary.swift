import NIOCore
import PushinatorJSON

/// Moves binary values out of and back into Socket.IO packet data, as socket.io-parser's
/// `deconstructPacket` / `reconstructPacket` do.
enum SocketIOBinary {
    /// The number of binary values anywhere inside `value`.
    static func count(in value: JSONValue) -> Int {
        switch value {
        case .binary: return 1
        case .array(let elements):
            var total = 0
            for element in elements { total += count(in: element) }
            return total
        case .object(let object):
            var total = 0
            for member in object.members { total += count(in: member.value) }
            return total
        default: return 0
        }
    }

    /// Replaces each binary value by a placeholder, depth first, collecting the bytes.
    ///
    /// Only the containers that hold binary values are rebuilt; objects are patched key by key.
    static func deconstruct(_ value: JSONValue, attachments: inout [ByteBuffer]) -> JSONValue {
        var value = value
        replaceBinaries(in: &value, attachments: &attachments)
        return value
    }

    @discardableResult
    private static func replaceBinaries(in value: inout JSONValue, attachments: inout [ByteBuffer]) -> Bool {
        rewrite(&value) { node in
            guard case .binary(let bytes) = node else { return false }
            node = ["_placeholder": true, "num": .integer(attachments.count)]
            attachments.append(bytes)
            return true
        }
    }

    /// Checks that the placeholders in `value` number exactly `expected`, each `num` used once.
    static func validatePlaceholders(in value: JSONValue, expected: Int) throws(SocketIOParseError) {
        var seen = [Bool](repeating: false, count: expected)
        var found = 0
        try visitPlaceholders(in: value, seen: &seen, found: &found)
        if found != expected {
            throw SocketIOParseError(
                .invalidPlaceholder,
                "packet announces \(expected) attachment(s) but holds \(found) placeholder(s)"
            )
        }
    }

    private static func visitPlaceholders(
        in value: JSONValue,
        seen: inout [Bool],
        found: inout Int
    ) throws(SocketIOParseError) {
        switch value {
        case .array(let elements):
            for element in elements { try visitPlaceholders(in: element, seen: &seen, found: &found) }
        case .object(let object):
            if let index = try placeholderIndex(object) {
                guard index < seen.count else {
                    throw SocketIOParseError(
                        .invalidPlaceholder,
                        "placeholder num \(index) is out of range for \(seen.count) attachment(s)"
                    )
                }
                guard !seen[index] else {
                    throw SocketIOParseError(.invalidPlaceholder, "placeholder num \(index) is used twice")
                }
                seen[index] = true
                found += 1
                return
            }
            for member in object.members { try visitPlaceholders(in: member.value, seen: &seen, found: &found) }
        default:
            return
        }
    }

    /// The `num` of a placeholder object, or `nil` when `object` is not a placeholder.
    private static func placeholderIndex(_ object: JSONObject) throws(SocketIOParseError) -> Int? {
        guard object["_placeholder"] == .bool(true) else { return nil }
        guard case .integer(let index) = object["num"], index >= 0 else {
            throw SocketIOParseError(.invalidPlaceholder, "placeholder without a valid num")
        }
        return index
    }

    /// Replaces each placeholder in already validated data by its attachment.
    static func reconstruct(_ value: JSONValue, attachments: [ByteBuffer]) -> JSONValue {
        var value = value
        replacePlaceholders(in: &value, attachments: attachments)
        return value
    }

    @discardableResult
    private static func replacePlaceholders(in value: inout JSONValue, attachments: [ByteBuffer]) -> Bool {
        rewrite(&value) { node in
            guard case .object(let object) = node, object["_placeholder"] == .bool(true),
                case .integer(let index) = object["num"]
            else { return false }
            node = .binary(attachments[index])
            return true
        }
    }

    /// Walks `value` depth first: `replace` rewrites a node and returns `true`, or returns `false` to leave it (and
    /// descend into it when it is an array or an object). Only the containers above a rewritten node are rebuilt;
    /// objects are patched key by key. Returns whether anything was rewritten.
    @discardableResult
    private static func rewrite(_ value: inout JSONValue, _ replace: (inout JSONValue) -> Bool) -> Bool {
        if replace(&value) { return true }
        switch value {
        case .array(var elements):
            value = .null  // release the array so that it is mutated in place
            var changed = false
            for index in elements.indices where rewrite(&elements[index], replace) {
                changed = true
            }
            value = .array(elements)
            return changed
        case .object(var object):
            var changes: [(String, JSONValue)] = []
            for member in object.members {
                var child = member.value
                if rewrite(&child, replace) { changes.append((member.key, child)) }
            }
            guard !changes.isEmpty else { return false }
            value = .null
            for (key, child) in changes { object[key] = child }
            value = .object(object)
            return true
        default:
            return false
        }
    }
}
