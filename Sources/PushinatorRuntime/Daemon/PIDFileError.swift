#if canImport(Glibc)
    public import Glibc
#elseif canImport(Darwin)
    public import Darwin
#endif

/// A pidfile could not be read, written or removed, or another live process holds it.
public struct PIDFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, naming the pidfile.
    public var message: String
    /// The process that holds the pidfile, when that is why ``PIDFile/create(pid:)`` failed.
    public var runningPID: pid_t?

    /// Creates an error.
    /// - Parameters:
    ///   - message: What went wrong, naming the pidfile.
    ///   - runningPID: The live process that holds the pidfile, if that is the problem.
    public init(_ message: String, runningPID: pid_t? = nil) {
        self.message = message
        self.runningPID = runningPID
    }

    /// The message.
    public var description: String { message }
}
