import HTTPTypes

/// The routes of a router compiled into a trie of path segments.
///
/// Lookup walks one node per segment, so its cost depends on the depth of the path, not on the number of
/// routes. At each node the candidates are tried in this order, with backtracking:
/// static segment > parameter (`:name`) > wildcard (`*`) > catch-all (`**`) and mounts.
public struct RouteTable: Sendable {
    final class Node: @unchecked Sendable {
        // Written only while the table is built, read-only afterwards.
        var statics: [Substring: Node] = [:]
        var parameter: Node?
        var wildcard: Node?
        var endpoint: Endpoint?
        var catchAll: Endpoint?
        var mount: Handler?
    }

    struct Handler: Sendable {
        let responder: any HTTPResponder
        /// The handler itself when it does not suspend and no middleware surrounds it.
        var synchronous: (@Sendable (Request, RequestContext) throws -> Response)? = nil
        /// Parameter names in order of their position in the pattern.
        let parameterNames: [Substring]
    }

    struct Endpoint: Sendable {
        /// The handlers by method, in the order they were added: a path has a handful of methods at most, and
        /// comparing a few short method names costs less than hashing one.
        private var entries: [(method: HTTPRequest.Method, handler: Handler)] = []

        subscript(method: HTTPRequest.Method) -> Handler? {
            get {
                for entry in entries where entry.method == method { return entry.handler }
                return nil
            }
            set {
                if let index = entries.firstIndex(where: { $0.method == method }) {
                    if let newValue { entries[index].handler = newValue } else { entries.remove(at: index) }
                } else if let newValue {
                    entries.append((method, newValue))
                }
            }
        }

        var allowedMethods: [HTTPRequest.Method] {
            var methods = entries.map(\.method)
            if self[.get] != nil, self[.head] == nil { methods.append(.head) }
            if self[.options] == nil { methods.append(.options) }
            return methods.sorted { $0.rawValue < $1.rawValue }
        }
    }

    let root = Node()
    /// The nodes of routes made of static segments only, by their path without the leading slash (`user/send`):
    /// most requests match one, at the cost of one hash of the path instead of a walk down the trie.
    private var staticPaths: [Substring: Node] = [:]
    /// Human-readable list of registered routes, for logs and diagnostics.
    public private(set) var descriptions: [String] = []

    init() {}

    mutating func add(
        method: HTTPRequest.Method,
        pattern: [Substring],
        responder: any HTTPResponder,
        synchronous: (@Sendable (Request, RequestContext) throws -> Response)? = nil
    ) {
        var node = root
        var names: [Substring] = []
        var catchAll = false
        for (index, segment) in pattern.enumerated() {
            if segment == "**" {
                precondition(index == pattern.count - 1, "'**' must be the last segment of a route pattern")
                catchAll = true
                break
            }
            node = child(of: node, for: segment, names: &names)
        }
        let handler = Handler(responder: responder, synchronous: synchronous, parameterNames: names)
        if !catchAll, names.isEmpty, !pattern.contains("*") {  // no catch-all, parameter or wildcard segment
            staticPaths[Substring(pattern.joined(separator: "/"))] = node
        }
        if catchAll {
            var endpoint = node.catchAll ?? Endpoint()
            endpoint[method] = handler
            node.catchAll = endpoint
        } else {
            var endpoint = node.endpoint ?? Endpoint()
            endpoint[method] = handler
            node.endpoint = endpoint
        }
        descriptions.append("\(method.rawValue) /\(pattern.joined(separator: "/"))")
    }

    mutating func mount(
        pattern: [Substring],
        responder: any HTTPResponder,
        synchronous: (@Sendable (Request, RequestContext) throws -> Response)? = nil
    ) {
        var node = root
        var names: [Substring] = []
        for segment in pattern { node = child(of: node, for: segment, names: &names) }
        node.mount = Handler(responder: responder, synchronous: synchronous, parameterNames: names)
        descriptions.append("* /\(pattern.joined(separator: "/"))/**")
    }

    private func child(of node: Node, for segment: Substring, names: inout [Substring]) -> Node {
        if segment == "*" {
            if node.wildcard == nil { node.wildcard = Node() }
            return node.wildcard!
        }
        if let name = Self.parameterName(segment) {
            names.append(name)
            if node.parameter == nil { node.parameter = Node() }
            return node.parameter!
        }
        if let existing = node.statics[segment] { return existing }
        let created = Node()
        node.statics[segment] = created
        return created
    }

    static func parameterName(_ segment: Substring) -> Substring? {
        if segment.first == ":" { return segment.dropFirst() }
        if segment.first == "{", segment.last == "}" { return segment.dropFirst().dropLast() }
        return nil
    }

    // MARK: Lookup

    /// The outcome of matching a path.
    enum Match {
        /// A handler for the method.
        case found(Handler, values: [Substring], catchAll: Substring?, remainingPath: Substring?)
        /// The path exists, but not for this method.
        case methodNotAllowed(allowed: [HTTPRequest.Method])
        /// Nothing matches the path.
        case notFound
    }

    func match(method: HTTPRequest.Method, path: Substring) -> Match {
        // A static route that has the method is what the walk below would find first (static segments are tried
        // first at every level); anything else, such as another method on that path, takes the walk.
        if let key = Self.staticKey(of: path), let node = staticPaths[key], let endpoint = node.endpoint,
            let handler = Self.handler(in: endpoint, for: method)
        {
            return .found(handler, values: [], catchAll: nil, remainingPath: nil)
        }
        // Split on the UTF-8 view: Character iteration is far slower, and `/` is always one byte.
        var segments: [Substring] = []
        segments.reserveCapacity(8)
        let utf8 = path.utf8
        var start = utf8.startIndex
        var index = utf8.startIndex
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: "/") {
                if start != index { segments.append(path[start..<index]) }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        if start != utf8.endIndex { segments.append(path[start...]) }

        var values: [Substring] = []
        var allowed: [HTTPRequest.Method]? = nil
        if let found = search(node: root, segments: segments, position: 0, method: method, values: &values, allowed: &allowed, path: path) {
            return found
        }
        if let allowed { return .methodNotAllowed(allowed: allowed) }
        return .notFound
    }

    private func search(
        node: Node,
        segments: [Substring],
        position: Int,
        method: HTTPRequest.Method,
        values: inout [Substring],
        allowed: inout [HTTPRequest.Method]?,
        path: Substring
    ) -> Match? {
        if position == segments.count {
            if let endpoint = node.endpoint {
                if let handler = Self.handler(in: endpoint, for: method) {
                    return .found(handler, values: values, catchAll: nil, remainingPath: nil)
                }
                if allowed == nil { allowed = endpoint.allowedMethods }
            }
        } else {
            let segment = segments[position]
            if let next = node.statics[segment],
                let found = search(node: next, segments: segments, position: position + 1, method: method, values: &values, allowed: &allowed, path: path)
            {
                return found
            }
            if let next = node.parameter {
                values.append(segment)
                if let found = search(node: next, segments: segments, position: position + 1, method: method, values: &values, allowed: &allowed, path: path) {
                    return found
                }
                values.removeLast()
            }
            if let next = node.wildcard,
                let found = search(node: next, segments: segments, position: position + 1, method: method, values: &values, allowed: &allowed, path: path)
            {
                return found
            }
        }
        guard node.catchAll != nil || node.mount != nil else { return nil }
        let rest = Self.rest(of: path, after: position, segments: segments)
        if let endpoint = node.catchAll {
            if let handler = Self.handler(in: endpoint, for: method) {
                return .found(handler, values: values, catchAll: rest.dropFirst(), remainingPath: nil)
            }
            if allowed == nil { allowed = endpoint.allowedMethods }
        }
        if let mount = node.mount {
            return .found(mount, values: values, catchAll: nil, remainingPath: rest.isEmpty ? "/" : rest)
        }
        return nil
    }

    /// `path` without its leading slash when it is in canonical form (`/a/b`: no empty segment, no trailing slash),
    /// which is how ``staticPaths`` keys it; `nil` otherwise (the walk ignores empty segments).
    static func staticKey(of path: Substring) -> Substring? {
        // Over the contiguous bytes when the string has them (native strings do): iterating the UTF-8 view of a
        // substring costs an index computation per byte.
        let isKey = path.utf8.withContiguousStorageIfAvailable(Self.isStaticKey) ?? Self.isStaticKey(path.utf8)
        return isKey ? path.dropFirst() : nil
    }

    /// Whether `bytes` is `/` followed by segments with no empty one (no `//`, no trailing `/` but for `/` alone).
    private static func isStaticKey<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        guard bytes.first == UInt8(ascii: "/") else { return false }
        var afterSlash = true
        var count = 0
        for byte in bytes {
            count &+= 1
            if count == 1 { continue }
            let isSlash = byte == UInt8(ascii: "/")
            if isSlash, afterSlash { return false }
            afterSlash = isSlash
        }
        return !(afterSlash && count > 1)
    }

    private static func handler(in endpoint: Endpoint, for method: HTTPRequest.Method) -> Handler? {
        if let handler = endpoint[method] { return handler }
        if method == .head { return endpoint[.get] }
        return nil
    }

    /// The part of `path` after the first `position` segments, starting with `/` (or empty).
    private static func rest(of path: Substring, after position: Int, segments: [Substring]) -> Substring {
        guard position < segments.count else {
            return path.hasSuffix("/") && position > 0 ? path[path.index(before: path.endIndex)...] : path[path.endIndex...]
        }
        let start = segments[position].startIndex
        return path[path.index(before: start)...]
    }
}
