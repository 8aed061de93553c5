/// What went wrong in the PostgreSQL transport, with a message for an operator.
public struct PostgresClusterTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        /// The configuration is invalid (a bad URL, a table name that is not an identifier...).
        public static let configuration = Kind(name: "configuration")
        /// The database could not be reached or refused a statement.
        public static let database = Kind(name: "database")
        /// A message cannot be published (too large for the attachment table's limit...).
        public static let message = Kind(name: "message")
        public var description: String { name }
    }

    /// The kind of problem.
    public let kind: Kind
    /// What happened, for the log or the command line.
    public let message: String

    /// A configuration error.
    public static func configuration(_ message: String) -> Self { .init(kind: .configuration, message: message) }
    /// A database error.
    public static func database(_ message: String) -> Self { .init(kind: .database, message: message) }

    public var description: String { "PostgreSQL cluster transport: \(message)" }
}
