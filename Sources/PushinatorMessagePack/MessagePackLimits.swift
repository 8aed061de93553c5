/// The bounds the decoder enforces, so that hostile input costs at most its own size in memory and time.
///
/// Declared lengths (str, bin, ext) and element counts (array, map) are always checked against the bytes left
/// in the input before anything is allocated: every element takes at least one byte, so a 10-byte input can
/// never make the decoder reserve room for four billion elements.
public struct MessagePackLimits: Sendable, Hashable {
    /// The deepest nesting of arrays and maps (the top-level value is depth 1). Default 64.
    public var maxDepth: Int
    /// The largest input accepted, in bytes. Default 16 MiB.
    public var maxInputSize: Int
    /// The most elements one array, or pairs one map, may declare. Default 1,000,000.
    public var maxElements: Int

    /// Creates limits.
    /// - Parameters:
    ///   - maxDepth: The deepest nesting of arrays and maps.
    ///   - maxInputSize: The largest input, in bytes.
    ///   - maxElements: The most elements in one array or pairs in one map.
    public init(maxDepth: Int = 64, maxInputSize: Int = 16 << 20, maxElements: Int = 1_000_000) {
        self.maxDepth = maxDepth
        self.maxInputSize = maxInputSize
        self.maxElements = maxElements
    }
}
