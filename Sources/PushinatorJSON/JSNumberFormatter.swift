/// Formats doubles the way JavaScript's `Number.prototype.toString` does (ECMA-262 Number::toString).
///
/// Swift's `description` already yields the shortest digits that round-trip; this re-lays them out in
/// JavaScript's notation: `1e+21`, `1e-7`, `0.000001`, `123456789012345680000`.
enum JSNumberFormatter {
    static func write(_ value: Double, to output: inout some JSONOutput) {
        guard value.isFinite else {
            output.jsonAppend("null")
            return
        }
        if value == 0 {
            output.jsonAppend(UInt8(ascii: "0"))  // -0 too, like JSON.stringify
            return
        }
        if value.magnitude < 9_007_199_254_740_992, value == value.rounded(.towardZero) {
            JSONWriter.writeInteger(Int(value), to: &output)
            return
        }
        var text = value.description
        text.withUTF8 { layOut(UnsafeRawBufferPointer($0), to: &output) }
    }

    /// Re-lays out Swift's `[-]digits[.digits][e±digits]` in JavaScript's notation.
    private static func layOut(_ text: UnsafeRawBufferPointer, to output: inout some JSONOutput) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
            var count = 0
            var pointPosition = -1
            var exponent = 0
            var exponentNegative = false
            var inExponent = false
            var negative = false
            for byte in text {
                switch byte {
                case UInt8(ascii: "-"):
                    if inExponent { exponentNegative = true } else { negative = true }
                case UInt8(ascii: "+"):
                    break
                case UInt8(ascii: "."):
                    pointPosition = count
                case UInt8(ascii: "e"), UInt8(ascii: "E"):
                    inExponent = true
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if inExponent {
                        exponent = exponent * 10 + Int(byte &- UInt8(ascii: "0"))
                    } else if count < 32 {
                        digits[count] = byte
                        count += 1
                    }
                default:
                    break
                }
            }
            if pointPosition < 0 { pointPosition = count }
            // Strip leading zeros (moving the point) and trailing zeros.
            var first = 0
            while first < count - 1 && digits[first] == UInt8(ascii: "0") { first += 1 }
            var end = count
            while end > first + 1 && digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
            let k = end - first
            let n = pointPosition - first + (exponentNegative ? -exponent : exponent)
            let significant = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digits)[first..<end])

            if negative { output.jsonAppend(UInt8(ascii: "-")) }
            if k <= n && n <= 21 {
                output.jsonAppend(significant)
                for _ in 0..<(n - k) { output.jsonAppend(UInt8(ascii: "0")) }
            } else if 0 < n && n <= 21 {
                output.jsonAppend(UnsafeRawBufferPointer(rebasing: significant[0..<n]))
                output.jsonAppend(UInt8(ascii: "."))
                output.jsonAppend(UnsafeRawBufferPointer(rebasing: significant[n...]))
            } else if -6 < n && n <= 0 {
                output.jsonAppend(UInt8(ascii: "0"))
                output.jsonAppend(UInt8(ascii: "."))
                for _ in 0..<(-n) { output.jsonAppend(UInt8(ascii: "0")) }
                output.jsonAppend(significant)
            } else {
                output.jsonAppend(significant[0])
                if k > 1 {
                    output.jsonAppend(UInt8(ascii: "."))
                    output.jsonAppend(UnsafeRawBufferPointer(rebasing: significant[1...]))
                }
                output.jsonAppend(UInt8(ascii: "e"))
                let e = n - 1
                output.jsonAppend(e >= 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
                JSONWriter.writeInteger(Int(e.magnitude), to: &output)
            }
        }
    }
}
