import Foundation
import PushinatorHTTP
import PushinatorTLS
import PushinatorTestSupport
import Testing

/// A self-signed certificate for 127.0.0.1 made with openssl in a temporary directory.
struct TestCertificate {
    let directory: String
    var certificate: String { directory + "/cert.pem" }
    var key: String { directory + "/key.pem" }

    static func make() async throws -> TestCertificate {
        let directory = NSTemporaryDirectory() + "pushinator-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let output = try await run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
            ]
        )
        guard output.status == 0 else { throw TestFailure("openssl failed: \(output.stderr)") }
        return TestCertificate(directory: directory)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

@Suite("TLS")
struct TLSTests {
    @Test func roundTripWithCurlVerifyingTheCertificate() async throws {
        let certificate = try await TestCertificate.make()
        defer { certificate.remove() }
        let tls = try TLSSecurity(certificateChainPath: certificate.certificate, privateKeyPath: certificate.key)
        let router = Router { Get("hello") { _, context in context.isSecure ? "secure hello" : "plain hello" } }
        try await TestServer.with(router, security: tls) { (server: TestServer) async throws in
            let output = try await run(
                "curl",
                ["-s", "--max-time", "10", "--cacert", certificate.certificate, "https://127.0.0.1:\(server.port)/hello"]
            )
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.text == "secure hello")
        }
    }

    @Test func missingCertificateNamesTheFile() throws {
        #expect {
            try TLSSecurity(certificateChainPath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
        } throws: { error in
            "\(error)" == "TLS certificate /nonexistent/cert.pem: no such file"
        }
    }

    @Test func nonPEMCertificateIsReported() async throws {
        let certificate = try await TestCertificate.make()
        defer { certificate.remove() }
        let bogus = certificate.directory + "/bogus.pem"
        try "not a certificate".write(toFile: bogus, atomically: true, encoding: .utf8)
        #expect {
            try TLSSecurity(certificateChainPath: bogus, privateKeyPath: certificate.key)
        } throws: { error in
            "\(error)".hasPrefix("TLS certificate \(bogus): is not a PEM certificate")
        }
    }

    @Test func keyOfAnotherCertificateIsReported() async throws {
        let first = try await TestCertificate.make()
        let second = try await TestCertificate.make()
        defer {
            first.remove()
            second.remove()
        }
        #expect {
            try TLSSecurity(certificateChainPath: first.certificate, privateKeyPath: second.key)
        } throws: { error in
            "\(error)".hasPrefix("TLS private key \(second.key): does not match certificate \(first.certificate)")
        }
    }
}
