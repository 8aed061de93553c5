import HTTPTypes

/// Path parameters captured by a route pattern.
///
/// `Get("rooms/:room/users/{user}")` captures `room` and `user`; `*` captures nothing by name; a trailing
/// `**` captures the rest of the path as ``catchAll``.
public struct Parameters: Sendable {
    private var values: [(name: Substring, value: Substring)] = []
    /// The rest of the path matched by a trailing `**`, without the leading `/`.
    public internal(set) var catchAll: Substring?

    /// Creates empty parameters.
    public init() {}

    mutating func append(_ name: Substring, _ value: Substring) { values.append((name, value)) }
    mutating func removeLast(_ count: Int) { values.removeLast(count) }
    var count: Int { values.count }

    /// The percent-decoded value of parameter `name`.
    public subscript(name: String) -> String? {
        for entry in values.reversed() where entry.name == name {
            return PercentDecoding.decode(entry.value, plusAsSpace: false)
        }
        return nil
    }

    /// The value of parameter `name`, or a 400 error naming it when missing.
    public func require(_ name: String) throws -> String {
        guard let value = self[name] else {
            throw HTTPError(.badRequest, message: "Missing path parameter '\(name)'")
        }
        return value
    }

    /// The value of parameter `name` converted to `T`; a 400 error says which parameter and type failed.
    ///
    /// ```swift
    /// let id = try context.parameters.require("id", as: Int.self)
    /// ```
    public func require<T: LosslessStringConvertible>(_ name: String, as type: T.Type) throws -> T {
        let text = try require(name)
        guard let value = T(text) else {
            throw HTTPError(.badRequest, message: "Path parameter '\(name)' must be \(T.self), found '\(text)'")
        }
        return value
    }
}
