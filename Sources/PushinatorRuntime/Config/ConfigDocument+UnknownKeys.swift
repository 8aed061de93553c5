import PushinatorJSON
import Synchronization

extension ConfigDocument {
    /// A key in the file that nothing read, with the closest key that was read (a likely typo's fix).
    public struct UnknownKey: Sendable, Equatable, CustomStringConvertible {
        /// The dotted key path as written in the file, such as `users.stor`.
        public var key: String
        /// The read key closest to it, such as `users.store`, when one is close enough to be a typo.
        public var suggestion: String?

        /// Creates an entry.
        public init(key: String, suggestion: String?) {
            self.key = key
            self.suggestion = suggestion
        }

        /// `unknown configuration key users.stor (did you mean users.store?)`.
        public var description: String {
            "unknown configuration key \(key)" + (suggestion.map { " (did you mean \($0)?)" } ?? "")
        }
    }

    /// The keys of the file that no accessor has read: call it after reading every setting.
    ///
    /// A key counts as read when an accessor read it, one of its parents, or (for an object) one of its
    /// children. Environment variables are not checked.
    /// - Parameter ignoring: Keys known but deliberately unused, such as node pushinator's `log.syslog.hostname`.
    /// - Returns: The unknown keys in file order, each with a suggestion when a read key is within a small edit
    ///   distance.
    public func unknownKeys(ignoring: Set<String> = []) -> [UnknownKey] {
        let read = readKeys.keys.union(ignoring)
        var unknown: [UnknownKey] = []
        func walk(_ value: JSONValue, path: String) {
            if !path.isEmpty {
                if read.contains(path) || read.contains(where: { path.hasPrefix($0 + ".") }) { return }
                guard case .object(let object) = value, !object.isEmpty else {
                    if !read.contains(where: { $0.hasPrefix(path + ".") }) {
                        unknown.append(UnknownKey(key: path, suggestion: Self.closest(to: path, in: read)))
                    }
                    return
                }
            }
            guard case .object(let object) = value else { return }
            for (key, child) in object { walk(child, path: path.isEmpty ? key : path + "." + key) }
        }
        walk(root, path: "")
        return unknown
    }

    /// The candidate with the smallest edit distance to `key`, if it is small for the key's length.
    static func closest(to key: String, in candidates: Set<String>) -> String? {
        let limit = max(2, key.count / 4)
        var best: (String, Int)?
        for candidate in candidates.sorted() {
            let distance = editDistance(Array(key.lowercased()), Array(candidate.lowercased()))
            if distance <= limit, distance < (best?.1 ?? .max) { best = (candidate, distance) }
        }
        return best?.0
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// The key paths a ``ConfigDocument`` was asked for (shared by its copies).
final class ConfigKeyLog: Sendable {
    private let storage = Mutex<Set<String>>([])

    func note(_ keyPath: String) { _ = storage.withLock { $0.insert(keyPath) } }

    var keys: Set<String> { storage.withLock { $0 } }
}
