/// A dictionary for a handful of entries, kept as a list in insertion order: a Swift dictionary of one entry takes
/// 120 bytes or more, and every idle connection kept one (its namespaces: nearly always one; a socket's storage:
/// one or two values). Lookups scan.
struct SmallDictionary<Key: Equatable, Value>: Sequence, ExpressibleByDictionaryLiteral {
    private var entries: [(key: Key, value: Value)]

    init(dictionaryLiteral elements: (Key, Value)...) {
        entries = elements.map { (key: $0.0, value: $0.1) }
    }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The value of `key`; setting `nil` removes it.
    subscript(key: Key) -> Value? {
        get { entries.first { $0.key == key }?.value }
        set {
            let index = entries.firstIndex { $0.key == key }
            switch (index, newValue) {
            case (let index?, let value?): entries[index].value = value
            case (let index?, nil): entries.remove(at: index)
            case (nil, let value?): entries.append((key: key, value: value))
            case (nil, nil): break
            }
        }
    }

    func makeIterator() -> IndexingIterator<[(key: Key, value: Value)]> { entries.makeIterator() }
}

extension SmallDictionary where Key: Hashable {
    /// The entries of `dictionary` (in its order).
    init(_ dictionary: [Key: Value]) {
        self = [:]
        for (key, value) in dictionary { self[key] = value }
    }

    /// The entries as a Swift dictionary.
    var dictionary: [Key: Value] {
        var result: [Key: Value] = [:]
        for (key, value) in self { result[key] = value }
        return result
    }
}
