import Crypto

/// The SHA-256 digest of a user's secret hash: what the user stores keep instead of the hash itself.
///
/// A leaked store (a copied SQLite file, a dump) then reveals no hash a client could `auth` with. The 32 bytes are
/// held inline (four words, no array), so a digest computed at each `auth` allocates nothing.
public struct HashDigest: Sendable, Hashable {
    private let word0, word1, word2, word3: UInt64

    /// The 32 digest bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: (word0, word1, word2, word3)) { Array($0) }
    }

    /// The digest of `hash` (its UTF-8 bytes).
    public init(of hash: String) {
        var hasher = SHA256()
        var hash = hash
        hash.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }  // read in place, no copy
        self = hasher.finalize().withUnsafeBytes { Self(words: $0) }
    }

    /// A digest from exactly 32 bytes.
    private init(words bytes: UnsafeRawBufferPointer) {
        word0 = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        word1 = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        word2 = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        word3 = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    /// A digest read back from a store; `nil` unless it has 32 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == SHA256.Digest.byteCount else { return nil }
        self = bytes.withUnsafeBytes { Self(words: $0) }
    }

    /// The digest as 64 lower-case hex digits (how a cluster carries it).
    public var hex: String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }

    /// A digest from 64 hex digits; `nil` for anything else.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(bytes: bytes)
    }

    /// Whether `hash` has this digest, compared without stopping at the first difference.
    public func matches(_ hash: String) -> Bool { matches(HashDigest(of: hash)) }

    /// Whether `other` is this digest, compared without stopping at the first difference (unlike `==`), so timing
    /// does not reveal how much of a guess matched.
    public func matches(_ other: HashDigest) -> Bool {
        ((word0 ^ other.word0) | (word1 ^ other.word1) | (word2 ^ other.word2) | (word3 ^ other.word3)) == 0
    }

    /// Compares without stopping at the first difference, so timing does not reveal how much of a guess matched.
    public static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0 && lhs.count == rhs.count
    }
}
