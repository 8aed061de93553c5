/// A TLS set-up problem found at start-up; the message names the file and what is wrong with it.
public struct TLSSetupError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, e.g. `TLS certificate /x/cert.pem: no such file`.
    public let description: String

    init(_ description: String) { self.description = description }
}
