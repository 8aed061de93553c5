import Crypto

/// The SHA-256 digest of a user's secret hash: what the user stores keep instead of the hash itself.
///
/// A leaked store (a copied SQLite file, a dump) then reveals no hash a client could `auth` with.
public struct HashDigest: Sendable, Hashable {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// The digest of `hash` (its UTF-8 bytes).
    public init(of hash: String) {
        bytes = Self.digest(of: hash).withUnsafeBytes { Array($0) }
    }

    /// SHA-256 over the UTF-8 of `hash`, read in place (no copy of the text, no array of the digest).
    private static func digest(of hash: String) -> SHA256.Digest {
        var hasher = SHA256()
        var hash = hash
        hash.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return hasher.finalize()
    }

    /// A digest read back from a store; `nil` unless it has 32 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == SHA256.Digest.byteCount else { return nil }
        self.bytes = bytes
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
    public func matches(_ hash: String) -> Bool {
        Self.digest(of: hash).withUnsafeBytes { digest in
            bytes.withUnsafeBytes { Self.constantTimeEquals($0, digest) }
        }
    }

    private static func constantTimeEquals(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<lhs.count { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
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
