// Fuzzes PushinatorRuntime's ConfigFileReader (plain JSON and node's `module.exports = {...}` object literal):
// it must throw a ConfigError or return a value, never trap, hang or blow the stack.
import FuzzSupport
import PushinatorRuntime

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigFile(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let reader = ConfigFileReader(maximumDepth: 32)
    if let value = try? reader.parse(bytes, source: "fuzz.conf") {
        _ = value.jsonString
    }
    return 0
}

@_cdecl("FuzzConfigFile_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzConfigFile)
}
