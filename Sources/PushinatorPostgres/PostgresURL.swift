import Foundation
import PostgresNIO
import NIOSSL

/// A `postgres://user:password@host:5432/database?sslmode=require` address, split into what postgres-nio needs.
///
/// `sslmode` is `disable` (the default), `prefer` or `require`; user, password and database are percent-decoded.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    /// The server's host name or address.
    public var host: String
    /// The server's port (default 5432).
    public var port: Int
    /// The user name.
    public var username: String
    /// The password, if any.
    public var password: String?
    /// The database (default: the user name, as libpq does).
    public var database: String
    /// `disable`, `prefer` or `require`.
    public var sslMode: String

    /// Parses an address.
    /// - Parameter text: `postgres://` or `postgresql://` URL.
    /// - Throws: ``PostgresClusterTransportError`` with a message naming what is wrong.
    public init(_ text: String) throws(PostgresClusterTransportError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw PostgresClusterTransportError.configuration("not a postgres:// URL: \(Self.redacted(text))")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresClusterTransportError.configuration("the URL has no host: \(Self.redacted(text))")
        }
        self.host = host
        self.port = components.port ?? 5432
        guard let user = components.user, !user.isEmpty else {
            throw PostgresClusterTransportError.configuration("the URL has no user name: \(Self.redacted(text))")
        }
        self.username = user
        self.password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? user : path
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw PostgresClusterTransportError.configuration("sslmode must be disable, prefer or require, not \(mode)")
        }
        self.sslMode = mode
    }

    /// The address without its password.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(sslMode)" }

    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "(unparseable)"
    }

    /// The pool's configuration.
    func clientConfiguration() -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default: tls = .disable
        }
        return PostgresClient.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: tls
        )
    }

    /// The listening connection's configuration.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case "prefer": tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case "require": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: tls = .disable
        }
        return PostgresConnection.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: tls
        )
    }
}
