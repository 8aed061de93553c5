#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered lines on standard output, for announcements that scripts and tests wait for.
///
/// `print` is buffered when standard output is a file or a pipe; a supervisor reading `LISTENING <url>` would
/// wait forever. `StandardOutput.writeLine("LISTENING http://\(address.hostAndPort)")` reaches it at once.
public enum StandardOutput {
    /// Writes `line` and a newline to standard output (or another descriptor, such as 2) immediately.
    public static func writeLine(_ line: String, fileDescriptor: Int32 = 1) {
        var bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written <= 0 { return }
            offset += written
        }
    }
}
