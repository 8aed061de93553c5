// Fuzzes PushinatorJSON: JSONValue(parsing:) must throw or return, never trap; what it returns must write
// JSON that parses back to the same text (the writer's output is a fixed point).
import FuzzSupport
import PushinatorJSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start else { return 0 }
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

@_cdecl("FuzzJSON_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzJSON)
}
