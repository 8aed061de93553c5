import Foundation
public import NIOCore
public import NIOSSL
public import PushinatorHTTP

/// TLS for an ``PushinatorHTTP/Listener``, with certificates in PEM files and ALPN `http/1.1`.
///
/// Everything is loaded and checked when the value is created, so a bad setup fails at start-up with an error
/// that names the file and the problem, never on the first connection:
///
/// ```swift
/// let tls = try TLSSecurity(certificateChainPath: "/etc/pushinator/cert.pem", privateKeyPath: "/etc/pushinator/key.pem")
/// let server = HTTPServer(
///     responder: router,
///     listeners: [Listener(.hostname("0.0.0.0", port: 443), security: tls)],
///     logger: logger
/// )
/// ```
public struct TLSSecurity: ListenerSecurity {
    let context: NIOSSLContext

    /// Loads a certificate chain and its private key from PEM files.
    /// - Parameters:
    ///   - certificateChainPath: The server certificate first, then the intermediates.
    ///   - privateKeyPath: The private key of the server certificate (unencrypted PEM).
    /// - Throws: ``TLSSetupError`` naming the file and the problem: missing, unreadable, not PEM, or a key that
    ///   does not belong to the certificate.
    public init(certificateChainPath: String, privateKeyPath: String) throws {
        let certificateBytes = try Self.read(certificateChainPath, what: "certificate")
        let keyBytes = try Self.read(privateKeyPath, what: "private key")
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw TLSSetupError("TLS certificate \(certificateChainPath): is not a PEM certificate (\(error))")
        }
        guard !chain.isEmpty else {
            throw TLSSetupError("TLS certificate \(certificateChainPath): is not a PEM certificate (no certificate found)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw TLSSetupError("TLS private key \(privateKeyPath): is not a PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.applicationProtocols = ["http/1.1"]
        do {
            self.context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError(
                "TLS private key \(privateKeyPath): does not match certificate \(certificateChainPath) (\(error))"
            )
        }
    }

    /// Uses a complete NIOSSL server configuration, for settings the path-based initializer does not cover
    /// (client certificates, cipher suites, minimum version).
    /// - Parameter configuration: A server configuration; ALPN `http/1.1` is added when it has no protocols.
    /// - Throws: NIOSSL's error when the configuration is invalid.
    public init(configuration: TLSConfiguration) throws {
        var configuration = configuration
        if configuration.applicationProtocols.isEmpty { configuration.applicationProtocols = ["http/1.1"] }
        self.context = try NIOSSLContext(configuration: configuration)
    }

    public func configure(channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
    }

    private static func read(_ path: String, what: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TLSSetupError("TLS \(what) \(path): no such file")
        }
        guard !isDirectory.boolValue else { throw TLSSetupError("TLS \(what) \(path): is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TLSSetupError("TLS \(what) \(path): cannot be read (permission denied?)")
        }
        guard !data.isEmpty else { throw TLSSetupError("TLS \(what) \(path): is empty") }
        return Array(data)
    }
}
