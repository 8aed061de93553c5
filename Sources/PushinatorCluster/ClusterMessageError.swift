/// Why bytes from the cluster channel are not a ``ClusterMessage``. Such a message is logged and dropped.
public struct ClusterMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case tooLarge = "the message is larger than the limit"
            case notJSON = "the message is not JSON"
            case notMessagePack = "the message is not MessagePack with a JSON form"
            case wrongShape = "the message does not have the shape of its type"
            case unknownType = "the message type is unknown"
        }
        private let kind: Kind

        /// Larger than ``ClusterMessageDecoder/Limits/maxMessageBytes``.
        public static let tooLarge = Reason(kind: .tooLarge)
        /// Not JSON, or nested deeper than the limit.
        public static let notJSON = Reason(kind: .notJSON)
        /// Not MessagePack, or MessagePack that has no JSON form.
        public static let notMessagePack = Reason(kind: .notMessagePack)
        /// A member is missing or has the wrong kind of value.
        public static let wrongShape = Reason(kind: .wrongShape)
        /// `type` is not one of socket.io's message types.
        public static let unknownType = Reason(kind: .unknownType)

        public var description: String { kind.rawValue }
    }

    /// The kind of problem.
    public let reason: Reason
    /// What exactly, such as `data.opts.rooms[2] is not a string`.
    public let detail: String

    /// Creates an error.
    /// - Parameters:
    ///   - reason: The kind of problem.
    ///   - detail: What exactly.
    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "cluster message: \(reason): \(detail)" }
}
