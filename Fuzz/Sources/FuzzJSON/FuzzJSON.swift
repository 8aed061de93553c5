// Fuzzes PushinatorJSON: JSONValue(parsing:) must throw or return, never trap; what it returns must write
// JSON that parses back to the same text (the writer's output is a fixed point).
import PushinatorJSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let options = JSONParser.Options(maxDepth: 64)
    guard let value = try? JSONValue(parsing: bytes, options: options) else { return 0 }
    let text = value.jsonString
    guard let again = try? JSONValue(parsing: text, options: JSONParser.Options(maxDepth: 128)) else {
        fatalError("the writer's output does not parse: \(text)")
    }
    precondition(again.jsonString == text, "the writer's output is not a fixed point: \(text)")
    return 0
}
