#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Unguessable identifiers (Engine.IO session ids, Socket.IO socket ids): 20 characters of URL-safe base64,
/// 120 bits from the system's secure random generator.
///
/// The bits are drawn from the system (`getentropy`) 256 bytes at a time, so that one system call serves 16
/// identifiers: `SystemRandomNumberGenerator` makes one call per 64 bits, and a WebSocket connect takes three
/// identifiers (session, socket and recovery ids), which was six system calls per connect.
public enum RandomIdentifier {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let pool = Mutex(RandomBytePool())

    /// A new identifier: 16 bytes of the pool, 6 bits per character.
    public static func make() -> String {
        let words = pool.withLock { $0.next() }
        return String(unsafeUninitializedCapacity: 20) { characters in
            for index in 0..<10 {
                let shift = UInt64(6 * index)
                characters[index] = alphabet[Int((words.0 >> shift) & 63)]
                characters[10 + index] = alphabet[Int((words.1 >> shift) & 63)]
            }
            return 20
        }
    }
}

/// Bytes from the system's secure random generator, drawn in blocks; each one is handed out once and zeroed when
/// taken.
struct RandomBytePool: Sendable {
    /// The most `getentropy` gives in one call.
    static let blockSize = 256
    private var bytes = [UInt8](repeating: 0, count: RandomBytePool.blockSize)
    private var offset = RandomBytePool.blockSize

    /// The next 16 bytes, as two words; draws a new block when this one is used up.
    mutating func next() -> (UInt64, UInt64) {
        if offset + 16 > bytes.count { refill() }
        let start = offset
        offset += 16
        return bytes.withUnsafeMutableBytes { raw in
            let words = (
                raw.loadUnaligned(fromByteOffset: start, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self)
            )
            for index in start..<start + 16 { raw[index] = 0 }
            return words
        }
    }

    private mutating func refill() {
        let drawn = bytes.withUnsafeMutableBytes { getentropy($0.baseAddress, $0.count) == 0 }
        if !drawn {  // not expected on Linux 3.17+ or macOS; one system call per 8 bytes as before
            var generator = SystemRandomNumberGenerator()
            bytes.withUnsafeMutableBytes { raw in
                for index in stride(from: 0, to: raw.count, by: 8) {
                    raw.storeBytes(of: generator.next() as UInt64, toByteOffset: index, as: UInt64.self)
                }
            }
        }
        offset = 0
    }
}
