public import HTTPTypes

/// The cookies of a request, parsed from its `Cookie` header fields.
public struct Cookies: Sendable {
    private var pairs: [(name: String, value: String)]

    /// Parses every `Cookie` field of `headers`.
    public init(headers: HTTPFields) {
        pairs = []
        for field in headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let trimmed = part.drop(while: { $0 == " " })
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                var value = trimmed[trimmed.index(after: equals)...]
                if value.count >= 2, value.first == "\"", value.last == "\"" {
                    value = value.dropFirst().dropLast()
                }
                pairs.append((String(trimmed[..<equals]), PercentDecoding.decode(value, plusAsSpace: false)))
            }
        }
    }

    /// The value of the first cookie called `name`.
    public subscript(name: String) -> String? {
        for pair in pairs where pair.name == name { return pair.value }
        return nil
    }

    /// The number of cookies.
    public var count: Int { pairs.count }
}
