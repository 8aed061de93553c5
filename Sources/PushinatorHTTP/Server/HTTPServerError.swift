/// Errors of ``HTTPServer`` start-up.
public enum HTTPServerError: Error, CustomStringConvertible {
    /// A listener could not bind its address.
    case bindFailed(address: BindAddress, reason: String)

    public var description: String {
        switch self {
        case .bindFailed(let address, let reason): "cannot listen on \(address): \(reason)"
        }
    }
}
