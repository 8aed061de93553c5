import HTTPTypes
public import PushinatorJSON

extension Request {
    /// The body parsed as JSON.
    ///
    /// - Throws: ``HTTPError`` 400 whose message says what is wrong and where (`Invalid JSON body: ...`).
    ///
    /// ```swift
    /// Post("echo") { request, _ in try request.json() }
    /// ```
    public func json() throws -> JSONValue {
        do {
            return try JSONValue(parsing: body.buffer)
        } catch {
            throw HTTPError(.badRequest, message: "Invalid JSON body: \(error.description)")
        }
    }

    /// The body decoded from JSON as `T`.
    ///
    /// - Parameter type: The type to decode.
    /// - Returns: The decoded value.
    /// - Throws: ``HTTPError`` 400 whose message says what is wrong: invalid JSON and its offset, a missing
    ///   member, or a member of the wrong type with its path (`Invalid JSON body: 'user.age' must be Int`).
    ///
    /// ```swift
    /// struct Push: Decodable { var room: String; var text: String }
    /// Post("push") { request, _ in
    ///     let push = try request.decode(as: Push.self)
    ///     ...
    /// }
    /// ```
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        let value = try json()
        do {
            return try value.decode(as: T.self)
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, message: "Invalid JSON body: \(Self.describe(error))")
        } catch {
            throw HTTPError(.badRequest, message: "Invalid JSON body: \(error)")
        }
    }

    /// The body decoded from JSON as `T`; the same as ``decode(as:)``, in the shape of the other context-taking
    /// helpers.
    public func decode<T: Decodable>(as type: T.Type = T.self, context: RequestContext) throws -> T {
        try decode(as: type)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
            let trimmed = text.hasPrefix(".") ? String(text.dropFirst()) : text
            return trimmed.isEmpty ? "the body" : "'\(trimmed)'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            let member = path(context.codingPath + [key])
            return "missing member \(member)"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(Self.typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(Self.typeName(type)), found null"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type, is UInt64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        default:
            "\(type)".hasPrefix("Array") ? "an array" : ("\(type)".hasPrefix("Dictionary") ? "an object" : "\(type)")
        }
    }
}
