#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Unguessable identifiers (Engine.IO session ids, Socket.IO socket ids, recovery session ids): 15 characters of
/// URL-safe base64, 90 bits from the system's secure random generator.
///
/// Why 15 characters and not socket.io's 20: Swift stores a string of at most 15 UTF-8 bytes inline, in the
/// `String` value itself. Such an id costs no allocation, no reference counting when it is copied into the tables a
/// connection is entered in (sessions, sockets, rooms, recovery), and compares as two machine words, where a
/// 20-character id is a heap object whose equal-length comparisons (every probe of a dictionary lookup) call
/// `memcmp`. 90 random bits is well above the 64 that OWASP asks of a session id; clients treat ids as opaque
/// strings. Cluster session ids keep 20 characters (``EngineIOSessionOwner``): a node prefix and 96 random bits.
///
/// The bits are drawn from the system (`getentropy`) 256 bytes at a time, so that one system call serves 16
/// identifiers: `SystemRandomNumberGenerator` makes one call per 64 bits, and a WebSocket connect takes three
/// identifiers (session, socket and recovery ids), which was six system calls per connect.
public enum RandomIdentifier {
    /// The length of ``make()``'s identifiers: the longest string Swift stores inline.
    public static let length = 15
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let pool = Mutex(RandomBytePool())

    /// A new identifier of ``length`` characters (90 bits).
    public static func make() -> String { make(count: length) }

    /// A new identifier of `count` characters, 6 random bits each: 16 bytes of the pool, so at most 20 characters.
    /// - Parameter count: The number of characters, 1 to 20 (clamped).
    public static func make(count: Int) -> String {
        let count = min(max(count, 1), 20)
        let words = pool.withLock { $0.next() }
        return String(unsafeUninitializedCapacity: count) { characters in
            for index in 0..<count {
                let word = index < 10 ? words.0 : words.1
                characters[index] = alphabet[Int((word >> UInt64(6 * (index % 10))) & 63)]
            }
            return count
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
