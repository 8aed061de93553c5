#if canImport(Glibc)
import Glibc
#endif

/// Memory figures of this process, read from `/proc/self/status` (Linux).
public enum ProcessMemory {
    /// Resident set size, peak resident size and virtual size in bytes (0 where unknown).
    public static func current() -> (resident: Int, peakResident: Int, virtual: Int) {
        guard let file = fopen("/proc/self/status", "r") else { return (0, 0, 0) }
        defer { fclose(file) }
        var resident = 0
        var peak = 0
        var virtual = 0
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { continue }
            switch fields[0] {
            case "VmRSS:": resident = kilobytes * 1024
            case "VmHWM:": peak = kilobytes * 1024
            case "VmSize:": virtual = kilobytes * 1024
            default: break
            }
        }
        return (resident, peak, virtual)
    }
}
