/// Unguessable identifiers (Engine.IO session ids, Socket.IO socket ids): 20 characters of URL-safe base64,
/// 120 bits from the system's secure random generator.
public enum RandomIdentifier {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// A new identifier: two 64-bit draws (each one a system call on Linux), 6 bits per character.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = (generator.next() as UInt64, generator.next() as UInt64)
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
