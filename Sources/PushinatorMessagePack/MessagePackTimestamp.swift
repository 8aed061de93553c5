public import NIOCore
public import PushinatorJSON

/// The timestamp extension (type -1): seconds and nanoseconds since the Unix epoch, in its 32-, 64- or 96-bit form.
public struct MessagePackTimestamp: Sendable, Hashable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// Nanoseconds, 0...999,999,999.
    public var nanoseconds: UInt32

    /// Creates a timestamp.
    /// - Parameters:
    ///   - seconds: Seconds since the epoch.
    ///   - nanoseconds: Nanoseconds (0...999,999,999).
    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Reads a timestamp extension's data (4, 8 or 12 bytes); `nil` for any other size or nanoseconds over 999,999,999.
    /// - Parameter data: The extension's bytes.
    public init?(_ data: ByteBuffer) {
        switch data.readableBytes {
        case 4:
            guard let seconds = data.getInteger(at: data.readerIndex, as: UInt32.self) else { return nil }
            self.init(seconds: Int64(seconds), nanoseconds: 0)
        case 8:
            guard let packed = data.getInteger(at: data.readerIndex, as: UInt64.self) else { return nil }
            self.init(seconds: Int64(packed & 0x3_ffff_ffff), nanoseconds: UInt32(packed >> 34))
        case 12:
            guard let nanoseconds = data.getInteger(at: data.readerIndex, as: UInt32.self),
                let seconds = data.getInteger(at: data.readerIndex + 4, as: Int64.self)
            else { return nil }
            self.init(seconds: seconds, nanoseconds: nanoseconds)
        default:
            return nil
        }
        guard nanoseconds < 1_000_000_000 else { return nil }
    }

    /// What `JSON.stringify` writes for the `Date` @msgpack/msgpack decodes this to: its ISO 8601 text with
    /// milliseconds (`±YYYYYY` years outside 0...9999), or `null` outside the range of a JavaScript `Date`.
    public var javaScriptJSON: JSONValue {
        // new Date(sec * 1000 + nsec / 1e6): the sum in doubles, truncated toward zero (TimeClip).
        let sum = (Double(seconds) * 1000 + Double(nanoseconds) / 1e6).rounded(.towardZero)
        guard abs(sum) <= 8.64e15 else { return .null }
        let milliseconds = Int64(sum)
        let (days, millisecondOfDay) = floorDivide(milliseconds, 86_400_000)
        let (year, month, day) = Self.civil(fromDays: days)
        let yearText: String
        if (0...9999).contains(year) {
            yearText = pad(year, 4)
        } else {
            yearText = (year < 0 ? "-" : "+") + pad(abs(year), 6)
        }
        let hours = millisecondOfDay / 3_600_000
        let minutes = millisecondOfDay / 60_000 % 60
        let secondsOfMinute = millisecondOfDay / 1000 % 60
        let millis = millisecondOfDay % 1000
        return .string(
            "\(yearText)-\(pad(month, 2))-\(pad(day, 2))T\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(secondsOfMinute, 2))"
                + ".\(pad(millis, 3))Z"
        )
    }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

private func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
    var quotient = value / divisor
    var remainder = value % divisor
    if remainder < 0 {
        quotient -= 1
        remainder += divisor
    }
    return (quotient, remainder)
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
