// SwiftPM links every executable on Linux with `main` aliased to `<Target>_main`, so a target cannot simply
// let libFuzzer's `main` run. Each fuzzer defines `<Target>_main` and hands over to libFuzzer's driver here.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafeRawPointer?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with the process arguments and `callback` as the test function.
/// - Parameters:
///   - argc: `main`'s argument count.
///   - argv: `main`'s arguments.
///   - callback: Called with each input (`LLVMFuzzerTestOneInput`).
/// - Returns: libFuzzer's exit status.
public func runFuzzer(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafeRawPointer?, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
