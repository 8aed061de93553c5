#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A syslog socket other than the system's: messages are sent as unix datagrams in syslog(3)'s own format,
/// `<PRI>Mmm dd hh:mm:ss tag[pid]: message`. glibc's syslog(3) always writes to `/dev/log`; this is for a syslog
/// daemon (or a test) listening elsewhere. A message that cannot be sent (no listener, a full queue) is dropped, as
/// syslog(3) drops it.
final class SyslogSocket: Sendable {
    /// The socket's path.
    let path: String
    private let descriptor: Int32

    /// Opens a datagram socket for `path`; `nil` when the path is too long for a unix socket address.
    init?(path: String) {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else { return nil }
        #if canImport(Glibc)
            let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
            let type = SOCK_DGRAM
        #endif
        let descriptor = socket(AF_UNIX, type, 0)
        guard descriptor >= 0 else { return nil }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Sends one message with `priority` (facility and severity) and `tag`.
    func send(priority: Int32, tag: String, _ text: String) {
        let datagram = Array("<\(priority)>\(Self.timestamp()) \(tag)[\(getpid())]: \(text)".utf8)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                datagram.withUnsafeBytes { bytes in
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), socketAddress, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
    }

    /// The local time as syslog(3) writes it: `Dec  6 05:30:00`.
    private static func timestamp() -> String {
        var now = time(nil)
        var local = tm()
        localtime_r(&now, &local)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%h %e %T", &local)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
